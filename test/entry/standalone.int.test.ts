/**
 * `transferkit train` run standalone (no `mlflow run`) against a real MLflow server, directly and
 * through a proxy that fails requests or goes down: no metric point is lost or duplicated, and a
 * server that never comes back ends with everything kept on disk.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { clientFor, historySteps, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

/** Waits until the experiment has a run whose parameters were logged (straight from the server). */
async function runStarted(url: string, experiment: string): Promise<void> {
  const client = clientFor(url);
  for (let i = 0; i < 600; i++) {
    const exp = await client.getExperimentByName(experiment);
    if (exp !== undefined) {
      const page = await client.searchRuns({ experimentIds: [exp.experiment_id] });
      if ((page.runs ?? []).some((r) => (r.data.params ?? []).some((p) => p.key === 'backbone'))) return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no run started in experiment ${experiment} within 30 s`);
}

const EPOCH_KEYS = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'epoch_seconds'];

describe('standalone train against a real server', () => {
  let server: TestServer;
  let data: string;
  let work: string;
  const args = (out: string, epochs = 4) => [
    'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16',
    '--samples_per_class', '6', '--max_epochs', String(epochs), '--use_early_stop', '0', '--batch_size', '8', '--output_dir', out,
  ];

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 30);
    work = await tempDir('standalone');
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('creates a run in the named experiment with every parameter as given', async () => {
    const res = await runCli(args(join(work, 'a')), childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'standalone' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'standalone');
    assert.equal(run.info.status, 'FINISHED');
    const params = paramsOf(run);
    assert.equal(params['backbone'], 'small-cnn');
    assert.equal(params['input_size'], '16');
    assert.equal(params['samples_per_class'], '6');
    assert.equal(params['retrained_conv_layers'], '0', 'defaults are logged too');
    assert.equal(params['learning_rate'], '0.001');
    assert.equal(tagsOf(run)['mlflow.source.name'], 'transferkit');
    for (const key of EPOCH_KEYS) assert.deepEqual(await historySteps(client, run.info.run_id, key), [0, 1, 2, 3]);
    assert.match(res.stdout, new RegExp(`MLflow run ${run.info.run_id}`));
  });

  it('loses no metric point and duplicates none when a third of the requests fail', async () => {
    const proxy = await startFlakyProxy({ target: server.url, failureRate: 0.3, seed: 11 });
    try {
      const res = await runCli(
        args(join(work, 'b'), 6),
        childEnv({ MLFLOW_TRACKING_URI: proxy.url, MLFLOW_EXPERIMENT_NAME: 'flaky', TRANSFERKIT_MLFLOW_RETRIES: '10' }),
      );
      assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
      const failed = proxy.stats['status-503'] + proxy.stats['reset-before'] + proxy.stats['drop-response'];
      assert.ok(failed >= 3, `the proxy failed ${failed} of ${proxy.stats.requests} requests`);
    } finally {
      await proxy.close();
    }
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'flaky');
    assert.equal(run.info.status, 'FINISHED');
    for (const key of EPOCH_KEYS) assert.deepEqual(await historySteps(client, run.info.run_id, key), [0, 1, 2, 3, 4, 5], key);
    assert.deepEqual(await historySteps(client, run.info.run_id, 'test_accuracy'), [0]);
  });

  it('keeps training while the server is away and sends everything when it is back', async () => {
    const proxy = await startFlakyProxy({ target: server.url });
    try {
      const child = runCli(
        args(join(work, 'c'), 5),
        childEnv({ MLFLOW_TRACKING_URI: proxy.url, MLFLOW_EXPERIMENT_NAME: 'outage', TRANSFERKIT_MLFLOW_RETRIES: '1', TRANSFERKIT_MLFLOW_WAIT_SECONDS: '60' }),
      );
      // down as soon as the run exists with its params; back after a few seconds
      await runStarted(server.url, 'outage');
      proxy.down();
      await new Promise((r) => setTimeout(r, 6000));
      const refused = proxy.stats.refusedWhileDown;
      proxy.up();
      const res = await child;
      assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
      assert.ok(refused > 0, 'requests were refused while the server was away');
    } finally {
      await proxy.close();
    }
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'outage');
    assert.equal(run.info.status, 'FINISHED');
    for (const key of EPOCH_KEYS) assert.deepEqual(await historySteps(client, run.info.run_id, key), [0, 1, 2, 3, 4], key);
  });

  it('ends non-zero and keeps the model, metrics and unsent points on disk when the server never comes back', async () => {
    const proxy = await startFlakyProxy({ target: server.url });
    const out = join(work, 'd');
    try {
      const child = execa('node', [CLI, ...args(out, 3)], {
        env: childEnv({ MLFLOW_TRACKING_URI: proxy.url, MLFLOW_EXPERIMENT_NAME: 'gone', TRANSFERKIT_MLFLOW_RETRIES: '1', TRANSFERKIT_MLFLOW_WAIT_SECONDS: '2' }),
        extendEnv: false,
        reject: false,
      });
      // down once the run is open (its parameters acknowledged), before any epoch is sent
      await new Promise<void>((resolve, reject) => {
        let seen = '';
        child.stderr?.on('data', (chunk: Buffer) => {
          seen += chunk.toString('utf8');
          if (seen.includes('INFO: tracking to MLflow')) resolve();
        });
        child.on('exit', () => reject(new Error(`exited before tracking started:\n${seen.slice(-2000)}`)));
      });
      proxy.down();
      const res = await child;
      assert.notEqual(res.exitCode, 0);
      assert.match(res.stderr, /did not take the run's metrics within 2 s/);
      assert.match(res.stderr, new RegExp(`${out}/mlflow-pending.json`));
    } finally {
      await proxy.close();
    }
    const pending = JSON.parse(await readFile(join(out, 'mlflow-pending.json'), 'utf8'));
    const keys = new Set(pending.metrics.map((m: { key: string }) => m.key));
    for (const key of [...EPOCH_KEYS, 'test_accuracy']) assert.ok(keys.has(key), `${key} kept in mlflow-pending.json`);
    assert.ok((await stat(join(out, 'model', 'model.h5'))).size > 0);
    assert.ok((await stat(join(out, 'metrics.json'))).size > 0);
    const run = await onlyRun(clientFor(server.url), 'gone');
    assert.notEqual(run.info.status, 'FINISHED');
  });

  it('ends the run KILLED on SIGTERM, with the epochs done so far logged', async () => {
    const child = execa('node', [CLI, ...args(join(work, 'e'), 100_000)], {
      env: childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'sigterm' }),
      extendEnv: false,
      reject: false,
    });
    const client = clientFor(server.url);
    await runStarted(server.url, 'sigterm');
    let runId = '';
    for (let i = 0; i < 600 && runId === ''; i++) {
      const exp = await client.getExperimentByName('sigterm');
      const run = exp === undefined ? undefined : (await client.searchRuns({ experimentIds: [exp.experiment_id] })).runs?.[0];
      if (run !== undefined && (await client.getMetricHistory(run.info.run_id, 'val_accuracy')).length >= 2) runId = run.info.run_id;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.notEqual(runId, '', 'two epochs were logged before the signal');
    child.kill('SIGTERM');
    const res = await child;
    assert.equal(res.exitCode, 130);
    assert.match(String(res.stderr), /transferkit: interrupted/);
    const run = await client.getRun(runId);
    assert.equal(run.info.status, 'KILLED');
    assert.ok((await historySteps(client, runId, 'loss')).length >= 2);
  });
});
