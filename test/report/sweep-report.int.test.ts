/**
 * The sweep parent's report.html: a real 2×2 `transferkit sweep` (built CLI) against a real MLflow
 * server on tiny data, the page opened from disk in headless Chromium. Checked: no console or page
 * errors and no request but the file; every point's row with the child run's own test accuracy; the
 * best point and its numbers equal to the parent's metrics; one chart per swept parameter; the page
 * uploaded as the parent's report.html and named by its tag. Screenshot in test-output/report/.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import type { Run } from '../../src/mlflow/schemas.js';
import { launchChromium, testOutputDir, watchedContext } from '../support/chromium.js';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { artifactPaths, clientFor, metricsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

const GRID = 'retrained_conv_layers=0,1;samples_per_class=6,8';

describe('the sweep report in headless Chromium', { timeout: 600_000 }, () => {
  let server: TestServer | undefined;
  let browser: Browser | undefined;
  let data = '';
  let work = '';

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer();
    data = await tinyCifar(20, 50);
    work = await tempDir('sweep-report');
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
    for (const dir of [data, work]) if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('shows every point, the best one and accuracy against each swept parameter', async () => {
    assert.ok(server && browser);
    const fixed = ['--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--max_epochs', '2', '--use_early_stop', '0', '--batch_size', '8'];
    const res = await runCli(['sweep', '--grid', GRID, '--concurrency', '2', ...fixed], childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'sweep-report' }), work);
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const client = clientFor(server.url);
    const experiment = await client.getExperimentByName('sweep-report');
    assert.ok(experiment);
    const runs: Run[] = [];
    for await (const r of client.iterateRuns({ experimentIds: [experiment.experiment_id] })) runs.push(r);
    const parent = runs.find((r) => tagsOf(r)['mlflow.parentRunId'] === undefined);
    assert.ok(parent);
    const children = runs.filter((r) => r !== parent);
    assert.equal(children.length, 4);
    assert.equal(tagsOf(parent)['transferkit.report'], 'report.html');
    assert.ok((await artifactPaths(client, parent)).includes('report.html'));
    const parentMetrics = metricsOf(parent);

    const file = join(work, 'out', `sweep-${parent.info.run_id}`, 'report.html');
    const watched = await watchedContext(browser, ['file://']);
    try {
      const page = await watched.newPage();
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      const rows = page.locator('#points tr[data-point]');
      assert.equal(await rows.count(), 4);
      for (const child of children) {
        const row = rows.filter({ has: page.getByText(child.info.run_id, { exact: true }) });
        assert.equal(await row.count(), 1, `a row for ${child.info.run_name ?? ''}`);
        assert.equal(Number(await row.locator('[data-col="test_accuracy"]').getAttribute('data-value')), metricsOf(child)['test_accuracy']);
      }
      assert.equal(await page.locator('#points tr.best').count(), 1);
      for (const key of ['best_val_accuracy', 'best_test_accuracy', 'total_points', 'finished_points']) {
        assert.equal(Number(await page.locator(`[data-metric="${key}"]`).getAttribute('data-value')), parentMetrics[key], key);
      }
      const best = tagsOf(parent)['best_child_run_id'];
      assert.match(await page.locator('#best-point').innerText(), new RegExp(best ?? 'no best'));
      assert.equal(await page.locator('#accuracy-by-parameter svg').count(), 2, 'one chart per swept parameter');
      await page.screenshot({ path: join(await testOutputDir('report'), 'sweep.png'), fullPage: true });
      assert.deepEqual([...watched.consoleErrors, ...watched.pageErrors], [], 'no errors in the page');
      assert.deepEqual(watched.requested.filter((u) => u !== pathToFileURL(file).href), [], 'no request but the file');
    } finally {
      await watched.context.close();
    }
  });
});
