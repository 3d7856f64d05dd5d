/**
 * report.html as a person opens it: real small runs through the built CLI (`npx tsc` first), each
 * report opened from disk (file://) in headless Chromium. Checked: no console or page errors, no
 * request but the file itself and data: images, the key numbers in the page equal to metrics.json,
 * the misclassified images decode. A screenshot per report goes to test-output/report/ (gitignored);
 * with TRANSFERKIT_DOCS_SCREENSHOT=1 the Fashion-MNIST one also goes to docs/images/report.png.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { z } from 'zod';
import { childEnv, REPO, runCli, tempDir } from '../support/cli.js';
import { launchChromium, testOutputDir, watchedContext, type Watched } from '../support/chromium.js';
import { jpeg, png, put, garble, type Rgb } from '../support/make-images.js';

const num = z.number().nullable();
const metricsFile = z.object({
  test: z.object({ accuracy: z.number(), loss: z.number(), count: z.number(), perClassAccuracy: z.array(num), confusion: z.array(z.array(z.number())) }),
  classNames: z.array(z.string()),
  epochs: z.array(z.object({ epoch: z.number() })),
  bestEpoch: z.number(),
  metrics: z.record(z.string(), z.number()),
});
type Metrics = z.infer<typeof metricsFile>;

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const flags = (p: Readonly<Record<string, string>>): string[] => Object.entries(p).flatMap(([k, v]) => [`--${k}`, v]);

async function train(params: Readonly<Record<string, string>>): Promise<Metrics> {
  const res = await runCli(['train', ...flags(params)], childEnv({ TRANSFERKIT_TRACKING: 'off' }));
  assert.equal(res.exitCode, 0, `transferkit train failed:\n${res.stderr.slice(-3000)}`);
  return metricsFile.parse(JSON.parse(await readFile(join(params['output_dir'] ?? '', 'metrics.json'), 'utf8')));
}

describe('report.html in headless Chromium', { timeout: 900_000 }, () => {
  let browser: Browser | undefined;
  let work = '';
  let shots = '';

  before(async () => {
    browser = await launchChromium();
    work = await tempDir('report');
    shots = await testOutputDir('report');
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  /** Opens a report from disk; checks it made no request but itself and data: images, and logged no error. */
  async function open(file: string, check: (page: Page) => Promise<void>, shot: string): Promise<void> {
    assert.ok(browser);
    const watched: Watched = await watchedContext(browser, ['file://']);
    try {
      const page = await watched.newPage();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await check(page);
      await page.screenshot({ path: join(shots, `${shot}.png`), fullPage: true });
      assert.deepEqual(watched.consoleErrors, [], 'no console errors');
      assert.deepEqual(watched.pageErrors, [], 'no page errors');
      assert.deepEqual(watched.blocked, [], 'no request left the page');
      const other = watched.requested.filter((u) => u !== pathToFileURL(file).href && !u.startsWith('data:image/png;base64,'));
      assert.deepEqual(other, [], 'the page loads nothing but itself and its inline images');
    } finally {
      await watched.context.close();
    }
  }

  const dataValue = async (page: Page, selector: string) => Number(await page.locator(selector).getAttribute('data-value'));

  /** Headline numbers, per-class accuracy and the confusion matrix against metrics.json. */
  async function checkNumbers(page: Page, m: Metrics): Promise<void> {
    const kpi = (key: string) => page.locator(`[data-metric="${key}"]`);
    assert.equal(await dataValue(page, '[data-metric="test_accuracy"]'), m.test.accuracy);
    assert.equal((await kpi('test_accuracy').locator('.v').innerText()).trim(), pct(m.test.accuracy));
    assert.equal(await dataValue(page, '[data-metric="test_count"]'), m.test.count);
    assert.equal(await dataValue(page, '[data-metric="epochs"]'), m.epochs.length);
    assert.equal(await dataValue(page, '[data-metric="kept_epoch"]'), m.bestEpoch);
    const rows = page.locator('#per-class tr[data-class]');
    assert.equal(await rows.count(), m.classNames.length);
    for (const [i, name] of m.classNames.entries()) {
      const row = rows.nth(i);
      assert.equal(await row.locator('th').innerText(), name, 'the class name shown as text, whatever its characters');
      const acc = m.test.perClassAccuracy[i] ?? null;
      const cell = row.locator('td.acc');
      assert.equal(await cell.getAttribute('data-value'), acc === null ? '' : JSON.stringify(acc));
      assert.equal((await cell.innerText()).trim(), acc === null ? 'n/a' : pct(acc));
    }
    const counts = await page.locator('#confusion td.cell').evaluateAll((cells) => cells.map((c) => Number(c.getAttribute('data-count'))));
    assert.deepEqual(counts, m.test.confusion.flat(), 'the heatmap shows the confusion matrix, row by row');
  }

  /** The gallery: as many images as mistakes (at most 24), each decoded, each caption naming classes of the run. */
  async function checkGallery(page: Page, m: Metrics, side: number): Promise<void> {
    const wrong = m.test.count - m.test.confusion.reduce((s, row, i) => s + (row[i] ?? 0), 0);
    const images = page.locator('#gallery img');
    assert.equal(await images.count(), Math.min(24, wrong), `${wrong} misclassified`);
    // the test tsconfig has no DOM types: read the image's properties by name
    const sizes = await images.evaluateAll((imgs) => imgs.map((i): unknown[] => ['complete', 'naturalWidth', 'naturalHeight'].map((k) => Reflect.get(i, k))));
    for (const [complete, w, h] of sizes) assert.ok(complete === true && w === side && h === side, `a decoded ${side}x${side} image, got ${String(w)}x${String(h)}`);
    for (const caption of await page.locator('#gallery figcaption').allInnerTexts()) {
      const [truth, rest] = caption.split(' → ');
      assert.ok(m.classNames.includes(truth ?? ''), `true class in ${caption}`);
      assert.ok(m.classNames.some((c) => (rest ?? '').startsWith(`${c} `)), `predicted class in ${caption}`);
    }
  }

  it('Fashion-MNIST classes 0-2, small-cnn, 30 labels per class, 3 epochs', async () => {
    const out = join(work, 'fashion');
    const m = await train({
      dataset: 'fashion-mnist', classes: '0-2', backbone: 'small-cnn', weights: 'none', samples_per_class: '30', max_epochs: '3', use_early_stop: '0', output_dir: out,
    });
    assert.equal(m.epochs.length, 3);
    await open(join(out, 'report.html'), async (page) => {
      await checkNumbers(page, m);
      await checkGallery(page, m, 28);
      const target = page.locator('.phase[data-phase="target"]');
      assert.equal(await target.getAttribute('data-epochs'), '3');
      assert.equal(await target.locator('svg.chart').count(), 2, 'a loss and an accuracy chart');
      assert.equal(await target.locator('svg.chart circle').count(), 12, 'loss, val_loss, accuracy, val_accuracy at 3 epochs each');
      assert.equal(await page.locator('#data-summary').getByText('fashion-mnist', { exact: true }).count(), 1);
      if (process.env['TRANSFERKIT_DOCS_SCREENSHOT'] === '1') {
        const box = await page.locator('#misclassified').boundingBox();
        await page.screenshot({ path: join(REPO, 'docs', 'images', 'report.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: Math.ceil((box?.y ?? 1600) + (box?.height ?? 0) + 16) } });
      }
    }, 'fashion-mnist');
  });

  it('a folder dataset with hostile class names and a skipped file: fine-tuning stage and the from-scratch baseline', async () => {
    const classes: Readonly<Record<string, Rgb>> = { '<b>bold</b>': [230, 60, 40], 'cat & "dog"': [40, 190, 70], "fox's <img src=x>": [60, 70, 220] };
    const data = join(work, 'pets');
    for (const [name, [r, g, b]] of Object.entries(classes)) {
      for (let i = 0; i < 10; i++) {
        const colour = (y: number, x: number): Rgb => [(r + x * 3 + i * 5) % 256, (g + y * 3) % 256, (b + i * 7) % 256];
        await put(join(data, name, `${i}.${i % 2 === 0 ? 'png' : 'jpg'}`), await (i % 2 === 0 ? png(16, 16, colour) : jpeg(16, 16, colour)));
      }
    }
    const good = await png(16, 16, [1, 2, 3]);
    await put(join(data, '<b>bold</b>', 'broken.png'), garble(good, 41, good.length - 12));
    const out = join(work, 'folder');
    const m = await train({
      dataset: `folder:${data}`, backbone: 'small-cnn', weights: 'none', input_size: '16', samples_per_class: '6', max_epochs: '2', use_early_stop: '0',
      fine_tune_epochs: '2', fine_tune_conv_layers: 'all', compare_scratch: '1', batch_size: '8', output_dir: out,
    });
    await open(join(out, 'report.html'), async (page) => {
      await checkNumbers(page, m);
      assert.equal(await page.locator('#per-class b, #confusion b, #gallery b, #per-class img, #confusion img').count(), 0, 'no markup from class names');
      const target = page.locator('.phase[data-phase="target"]');
      assert.equal(await target.locator('.stage-boundary').count(), 2, 'stage 2 marked on both charts');
      assert.equal(await page.locator('.phase[data-phase="scratch"]').count(), 1, 'the baseline has its own curves');
      const scratch = m.metrics['scratch_test_accuracy'];
      assert.ok(scratch !== undefined);
      assert.equal(Number(await page.locator('#comparison tr').nth(2).locator('td').first().getAttribute('data-value')), scratch);
      assert.equal(await dataValue(page, '[data-metric="scratch_test_accuracy"]'), scratch);
      assert.match(await page.locator('#data-summary').innerText(), /skipped files\s+1 corrupt/);
    }, 'folder-two-stages-scratch');
  });

  it('an adaptation run (Fashion-MNIST → inverted, pseudo-labels)', async () => {
    const out = join(work, 'adapt');
    const m = await train({
      dataset: 'fashion-mnist', classes: '0-2', backbone: 'small-cnn', weights: 'none', retrained_conv_layers: 'all', samples_per_class: '20', target_dataset: 'fashion-mnist',
      target_shift: 'invert', target_unlabeled_samples: '200', max_epochs: '2', batch_size: '32', dense_units: '32', adaptation: 'pseudo_label', output_dir: out,
    });
    await open(join(out, 'report.html'), async (page) => {
      await checkNumbers(page, m);
      await checkGallery(page, m, 28);
      assert.equal(await page.locator('#adaptation').count(), 1);
      assert.match(await page.locator('#adaptation-metrics').innerText(), /pseudo_label/);
      const charts = page.locator('.phase[data-phase="target"] svg.chart');
      assert.ok((await charts.count()) >= 3, 'loss, accuracy and the adaptation charts');
      assert.equal(await page.locator('.phase[data-phase="target"] path[data-series="target_test_accuracy"]').count(), 1);
    }, 'adaptation');
  });
});
