/**
 * The MLflow UI as people meet a transferkit run (issue 15, item 4): a tiny `transferkit train`
 * against a real `mlflow server`, then headless Chromium (test/support/chromium.ts; only the
 * loopback server is reachable). Checked: the experiment carries MLflow's experiment-kind tag for
 * model training and transferkit's link opens it on the runs table with the run in it; the run's
 * Model metrics tab has one section that starts with the learning curves (no per-class section,
 * no chart per class); the run's description links report.html, which opens in MLflow's artifact
 * view. Screenshots go to test-output/mlflow-ui/ (gitignored).
 *
 * MLflow 3.17.2's own navigation follows its global "GenAI | Model training" switch (default GenAI)
 * and not the tag: the bare experiment URL opens the GenAI overview; the test reports where it went.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { z } from 'zod';
import type { Run } from '../../src/mlflow/schemas.js';
import { experimentRunsUrl, runPageUrl } from '../../src/tracking/ui-links.js';
import { launchChromium, testOutputDir, watchedContext, type Watched } from '../support/chromium.js';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { clientFor, onlyRun } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';
import { poll as pollUntil } from '../support/poll.js';

const EXPERIMENT = 'ui-training';
const EPOCHS = 3;
const WAIT_MS = 30_000;

/** Polls with this file's default wait (test/support/poll.ts). */
const poll = <T>(read: () => Promise<T>, done: (value: T) => boolean, ms = WAIT_MS): Promise<T> => pollUntil(read, done, ms);

describe('the MLflow UI opens a transferkit run as model training', { timeout: 300_000 }, () => {
  let server: TestServer | undefined;
  let data: string | undefined;
  let work: string | undefined;
  let browser: Browser | undefined;
  let watched: Watched | undefined;
  let shots = '';
  let run: Run;
  let classNames: string[] = [];
  let testAccuracy = 0;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer();
    data = await tinyCifar();
    work = await tempDir('mlflow-ui-training');
    shots = await testOutputDir('mlflow-ui');
    const out = join(work, 'out');
    const res = await runCli(
      [
        'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--samples_per_class', '6',
        '--max_epochs', String(EPOCHS), '--use_early_stop', '0', '--batch_size', '8', '--output_dir', out,
      ],
      childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: EXPERIMENT }),
    );
    assert.equal(res.exitCode, 0, `transferkit train failed:\n${res.stderr.slice(-3000)}`);
    run = await onlyRun(clientFor(server.url), EXPERIMENT);
    const local = z.object({ classNames: z.array(z.string()), test: z.object({ accuracy: z.number() }) }).parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
    classNames = local.classNames;
    testAccuracy = local.test.accuracy;
    watched = await watchedContext(browser, [new URL(server.url).origin], { width: 1400, height: 1000 });
  }, { timeout: 240_000 });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    if (data !== undefined) await rm(data, { recursive: true, force: true });
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  async function withPage(t: { diagnostic(message: string): void }, use: (page: Page) => Promise<void>): Promise<void> {
    assert.ok(watched);
    const page = await watched.newPage();
    try {
      await use(page);
    } finally {
      await page.close();
      for (const e of watched.pageErrors.splice(0)) t.diagnostic(`page error: ${e}`);
      for (const u of watched.blocked.splice(0)) t.diagnostic(`blocked non-loopback request: ${u}`);
    }
  }

  it('tags the experiment as model training; transferkit\'s link opens it on the runs table', async (t) => {
    assert.ok(server);
    const experiment = await clientFor(server.url).getExperimentByName(EXPERIMENT);
    assert.equal(experiment?.tags.find((x) => x.key === 'mlflow.experimentKind')?.value, 'custom_model_development');
    await withPage(t, async (page) => {
      assert.ok(server);
      await page.goto(experimentRunsUrl(server.url, run.info.experiment_id));
      const row = page.getByRole('link', { name: run.info.run_name ?? '', exact: true });
      await row.first().waitFor({ state: 'visible' });
      assert.match(page.url(), new RegExp(`#/experiments/${run.info.experiment_id}/runs\\?`), 'still on the runs table');
      assert.match(page.url(), /workflowType=machine_learning/);
      assert.equal(await page.getByText('Overview', { exact: true }).filter({ has: page.locator('h2, h1') }).count(), 0);
      await page.screenshot({ path: join(shots, 'experiment-runs.png') });

      await page.goto(`${server.url}/#/experiments/${run.info.experiment_id}`);
      await poll(async () => page.url(), (u) => /\/(runs|overview)/.test(u));
      t.diagnostic(`the bare experiment URL (no workflowType) lands on ${page.url()}`);
    });
  });

  it('starts the run\'s Model metrics with the learning curves: one section, no chart per class', async (t) => {
    await withPage(t, async (page) => {
      assert.ok(server);
      await page.goto(runPageUrl(server.url, run.info.experiment_id, run.info.run_id, 'model-metrics'));
      const cards = page.getByTestId('experiment-view-compare-runs-card');
      await cards.first().waitFor({ state: 'visible' });
      // the page draws the first charts only (the rest as they scroll into view)
      const titles = await poll(() => cards.locator('h4').allInnerTexts(), (x) => x.includes('loss'));
      t.diagnostic(`first charts in order: ${titles.join(', ')}`);
      await page.screenshot({ path: join(shots, 'model-metrics.png') });
      const sections = await page.getByRole('button', { name: /Add chart/ }).count();
      assert.equal(sections, 1, 'one chart section ("Model metrics"): nothing grouped ahead of the curves');
      assert.equal(titles[0], 'accuracy', 'the first chart is a learning curve');
      assert.ok(titles.indexOf('loss') >= 0 && titles.indexOf('loss') < 4, 'loss among the first charts');
      const search = page.getByPlaceholder('Search metric charts');
      for (const name of classNames) {
        await search.fill(name);
        assert.equal(await poll(() => cards.count(), (n) => n === 0, 3_000), 0, `no chart for class ${name}`);
      }
      for (const key of ['accuracy', 'loss', 'val_accuracy', 'val_loss']) {
        await search.fill(key);
        const card = cards.filter({ has: page.locator(`h4[title="${key}"]`) });
        await card.first().waitFor({ state: 'visible' });
        const markers = card.locator('.js-plotly-plot g.scatterlayer g.trace g.points path.point');
        assert.equal(await poll(() => markers.count(), (n) => n >= EPOCHS), EPOCHS, `${key}: a line chart with one point per epoch`);
      }
    });
  });

  it('links report.html from the run\'s description; it opens in MLflow\'s artifact view', async (t) => {
    await withPage(t, async (page) => {
      assert.ok(server);
      await page.goto(runPageUrl(server.url, run.info.experiment_id, run.info.run_id));
      const link = page.getByRole('link', { name: 'report.html', exact: true });
      await link.first().waitFor({ state: 'visible' });
      await page.screenshot({ path: join(shots, 'run-overview.png'), fullPage: true });
      // MLflow opens links of a description in a new tab
      const [tab] = await Promise.all([page.context().waitForEvent('page'), link.first().click()]);
      try {
        await tab.waitForURL(/\/artifacts\/report\.html/);
        const headline = tab.frameLocator('iframe').first().locator('[data-metric="test_accuracy"] .v');
        await headline.waitFor({ state: 'visible' });
        assert.equal((await headline.innerText()).trim(), `${(testAccuracy * 100).toFixed(2)}%`);
        await tab.screenshot({ path: join(shots, 'report-artifact.png') });
      } finally {
        await tab.close();
      }
    });
  });
});
