/**
 * What a person sees in the MLflow UI for a real transferkit run: a tiny `transferkit train` against a
 * real `mlflow server`, then the run page opened in headless Chromium (Debian's /usr/bin/chromium,
 * driven by playwright-core). Checks the status box, the logged model (MLflow 3: listed with the
 * run's outputs, READY, its page naming the run; model/ shown as an MLflow Model with its schema) and
 * that the Model metrics tab draws val_accuracy and loss as line charts with one point per epoch,
 * placed where the logged values say. Fails (never skips) when Chromium is missing. The machine has no network: the browser only
 * loads from the loopback test server, every other request is aborted.
 *
 * Screenshots go to the test's temp dir (removed afterwards); set TRANSFERKIT_UI_SCREENSHOTS=DIR to
 * keep them for a look.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';
import type { Run } from '../../src/mlflow/schemas.js';
import { launchChromium } from '../support/chromium.js';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { clientFor, onlyRun } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';
import { poll as pollUntil } from '../support/poll.js';

const EXPERIMENT = 'ui';
const EPOCHS = 4;
/** Upper bound of any single wait on the UI (navigation, an element, a poll). */
const WAIT_MS = 30_000;
const NAVIGATION_MS = 60_000;
/** Pixel tolerance when checking where plotly put a point. */
const PX_TOLERANCE = 1.5;

/** Polls with this file's default wait (test/support/poll.ts). */
const poll = <T>(read: () => Promise<T>, done: (value: T) => boolean, ms = WAIT_MS): Promise<T> => pollUntil(read, done, ms);

function at<T>(values: readonly T[], index: number): T {
  const value = values[index];
  assert.ok(value !== undefined, `index ${index} of ${values.length}`);
  return value;
}

/** Plotly places each marker with `translate(x,y)` (pixels in the plot area). */
function translateOf(transform: string | null): { x: number; y: number } {
  const m = /translate\(\s*(-?[\d.e+-]+)\s*[ ,]\s*(-?[\d.e+-]+)\s*\)/.exec(transform ?? '');
  assert.ok(m?.[1] !== undefined && m[2] !== undefined, `a marker transform, got ${JSON.stringify(transform)}`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

/**
 * The pixel coordinates are an affine image of the data with the given direction (x grows to the
 * right with the step, y grows downwards as the value rises): the chart shows these very values, in
 * this order, not just some line.
 */
function assertAffine(label: string, data: readonly number[], px: readonly number[], direction: 1 | -1): void {
  assert.equal(px.length, data.length, `${label}: one pixel position per data point`);
  let lo = 0;
  let hi = 0;
  data.forEach((v, i) => {
    if (v < at(data, lo)) lo = i;
    if (v > at(data, hi)) hi = i;
  });
  const span = at(data, hi) - at(data, lo);
  if (span === 0) {
    for (const p of px) assert.ok(Math.abs(p - at(px, 0)) <= PX_TOLERANCE, `${label}: equal values drawn level, got ${px.join(', ')}`);
    return;
  }
  const slope = (at(px, hi) - at(px, lo)) / span;
  assert.ok(Math.sign(slope) === direction && Math.abs(slope * span) > 10, `${label}: ${data.join(', ')} drawn at ${px.join(', ')}`);
  data.forEach((v, k) => {
    const expected = at(px, lo) + slope * (v - at(data, lo));
    assert.ok(Math.abs(expected - at(px, k)) <= PX_TOLERANCE, `${label}: point ${k} (${v}) at ${at(px, k)}, expected ${expected.toFixed(2)}`);
  });
}

async function assertPng(path: string): Promise<void> {
  const bytes = await readFile(path);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], `${path} is a PNG`);
  assert.ok(bytes.length > 5_000, `${path} has content (${bytes.length} bytes)`);
}

describe('the MLflow UI shows a transferkit run', { timeout: 300_000 }, () => {
  let server: TestServer | undefined;
  let data: string | undefined;
  let work: string | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let shots = '';
  let run: Run;
  let runPage = '';
  const history = new Map<string, { steps: number[]; values: number[] }>();
  /** Requests the page tried to make outside the test server (aborted). */
  const blocked: string[] = [];
  /** HTTP errors and uncaught exceptions seen in the page, reported as diagnostics. */
  const pageProblems: string[] = [];

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar();
    work = await tempDir('mlflow-ui');
    shots = process.env['TRANSFERKIT_UI_SCREENSHOTS'] ?? join(work, 'screenshots');
    await mkdir(shots, { recursive: true });

    const res = await runCli(
      [
        'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--samples_per_class', '6',
        '--max_epochs', String(EPOCHS), '--use_early_stop', '0', '--batch_size', '8', '--output_dir', join(work, 'out'),
      ],
      childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: EXPERIMENT }),
    );
    assert.equal(res.exitCode, 0, `transferkit train failed:\n${res.stderr.slice(-3000)}`);
    const client = clientFor(server.url);
    run = await onlyRun(client, EXPERIMENT);
    assert.equal(run.info.status, 'FINISHED', 'the run is FINISHED in the tracking store');
    for (const key of ['val_accuracy', 'loss']) {
      const points = (await client.getMetricHistory(run.info.run_id, key)).map((p) => ({ step: p.step ?? 0, value: p.value }));
      points.sort((a, b) => a.step - b.step);
      const steps = points.map((p) => p.step);
      assert.deepEqual(steps, [...Array(EPOCHS).keys()], `${key} logged once per epoch`);
      history.set(key, { steps, values: points.map((p) => p.value) });
    }
    runPage = `${server.url}/#/experiments/${run.info.experiment_id}/runs/${run.info.run_id}`;

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, serviceWorkers: 'block' });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(NAVIGATION_MS);
    const origin = new URL(server.url).origin;
    await context.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === origin) return route.continue();
      blocked.push(url);
      return route.abort('blockedbyclient');
    });
  }, { timeout: 240_000 });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (data !== undefined) await rm(data, { recursive: true, force: true });
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  async function openRunPage(): Promise<Page> {
    assert.ok(context && server);
    const page = await context.newPage();
    page.on('response', (r) => {
      if (r.status() >= 400) pageProblems.push(`HTTP ${r.status()} ${r.url()}`);
    });
    page.on('pageerror', (e) => pageProblems.push(`page error: ${e.message}`));
    await page.goto(runPage);
    // the overview's "Run ID" box names this run: the route resolved to the right run page
    const runIdBox = page.getByTestId('key-value-Run ID');
    await runIdBox.waitFor({ state: 'visible' });
    assert.match(await runIdBox.innerText(), new RegExp(run.info.run_id));
    return page;
  }

  it('shows the run as Finished, its model as a READY logged model of the run, and model/ as an MLflow Model with its schema', async (t) => {
    const page = await openRunPage();
    try {
      const status = page.getByTestId('key-value-Status').getByRole('status');
      const statusText = await poll(async () => (await status.innerText()).trim(), (s) => s === 'Finished');
      assert.equal(statusText, 'Finished', 'status box of the overview');

      // MLflow 3: a run with model outputs lists them under "Logged models (n)" (the overview's
      // "Logged models" box, read from mlflow.log-model.history, is for runs without them)
      const modelId = run.outputs.model_outputs[0]?.model_id;
      assert.ok(modelId !== undefined, 'the run has a logged model output');
      const title = page.getByText(/^Logged models \(\d+\)$/);
      await title.waitFor({ state: 'visible' });
      // the box can show "(0)" while the page still fetches the run's logged models
      assert.equal(await poll(async () => (await title.innerText()).trim(), (s) => s === 'Logged models (1)'), 'Logged models (1)');
      const link = page.getByRole('link', { name: 'model', exact: true });
      assert.equal(await poll(() => link.count(), (n) => n > 0), 1, 'one logged model, named model');
      assert.match((await link.getAttribute('href')) ?? '', new RegExp(`/experiments/${run.info.experiment_id}/models/${modelId}$`));
      await title.scrollIntoViewIfNeeded();
      await page.screenshot({ path: join(shots, 'overview.png') });

      // as a person would: follow the link to the logged model's page, Ready and made by this run
      await link.click();
      await page.waitForURL(new RegExp(`/models/${modelId}$`));
      await page.getByText('Ready', { exact: true }).first().waitFor({ state: 'visible' });
      await page.getByText(run.info.run_id, { exact: true }).first().waitFor({ state: 'visible' });
      await page.screenshot({ path: join(shots, 'logged-model.png') });

      // the run's model/ folder: the artifact view recognizes an MLflow Model and shows its signature
      await page.goto(`${runPage}/artifacts/model`);
      await page.getByText('MLflow Model', { exact: true }).first().waitFor({ state: 'visible' });
      await page.getByText('MLmodel', { exact: true }).first().waitFor({ state: 'visible' });
      await page.getByText(/dtype: float32, shape: \[-1,16,16,3\]/).first().waitFor({ state: 'visible' });
      await page.screenshot({ path: join(shots, 'model.png'), fullPage: true });
      await assertPng(join(shots, 'model.png'));
    } finally {
      await page.close();
      for (const p of pageProblems.splice(0)) t.diagnostic(p);
    }
  });

  it('draws val_accuracy and loss as line charts with one point per epoch on the Model metrics tab', async (t) => {
    const page = await openRunPage();
    try {
      await page.getByRole('tab', { name: 'Model metrics', exact: true }).click();
      await page.waitForURL(/\/model-metrics$/);
      const search = page.getByPlaceholder('Search metric charts');
      for (const key of ['val_accuracy', 'loss']) {
        const logged = history.get(key);
        assert.ok(logged);
        // narrow the charts to this metric, as a person would; the card titled exactly `key` is its chart
        await search.fill(key);
        const card = page.getByTestId('experiment-view-compare-runs-card').filter({ has: page.locator(`h4[title="${key}"]`) });
        await card.first().waitFor({ state: 'visible' });
        assert.equal(await card.count(), 1, `one chart card titled ${key}`);

        // a plotly line trace with one marker per logged epoch
        const markers = card.locator('.js-plotly-plot svg.main-svg g.scatterlayer g.trace g.points path.point');
        assert.equal(await poll(() => markers.count(), (n) => n >= EPOCHS), EPOCHS, `${key}: markers in the chart`);
        const line = card.locator('.js-plotly-plot g.scatterlayer g.trace').filter({ has: page.locator('g.points path.point') }).locator('path.js-line');
        const d = (await line.first().getAttribute('d')) ?? '';
        assert.equal((d.match(/[ML]/g) ?? []).length, EPOCHS, `${key}: the line joins the ${EPOCHS} epochs, d=${d}`);

        const positions = await Promise.all((await markers.all()).map(async (m) => translateOf(await m.getAttribute('transform'))));
        assertAffine(`${key} x/step`, logged.steps, positions.map((p) => p.x), 1);
        assertAffine(`${key} y/value`, logged.values, positions.map((p) => p.y), -1);

        assert.equal(((await card.locator('g.g-xtitle text.xtitle').textContent()) ?? '').trim(), 'Step', `${key}: x axis is the step`);
        await card.getByText(`${run.info.run_name} (${key})`, { exact: true }).waitFor({ state: 'visible' });

        await page.screenshot({ path: join(shots, `model-metrics-${key}.png`), fullPage: true });
        await card.screenshot({ path: join(shots, `chart-${key}.png`) });
        await assertPng(join(shots, `chart-${key}.png`));
      }
    } finally {
      await page.close();
      for (const p of pageProblems.splice(0)) t.diagnostic(p);
      for (const url of blocked) t.diagnostic(`blocked non-loopback request: ${url}`);
    }
  });
});
