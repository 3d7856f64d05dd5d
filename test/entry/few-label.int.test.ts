/**
 * The label-scarce recipes through the built CLI against a real MLflow server: the ridge-solved
 * linear probe logs its λ, and its model is an ordinary one that `transferkit predict` reads; test-time
 * augmentation is logged as a parameter and scores the test set.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { clientFor, historySteps, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

describe('label-scarce recipes end to end', () => {
  let server: TestServer;
  let data: string;
  let work: string;
  const base = (out: string) => [
    'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16',
    '--samples_per_class', '6', '--validation_fraction', '0.5', '--batch_size', '8', '--output_dir', out,
  ];

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 30);
    work = await tempDir('few-label');
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('head_solver=ridge with tta=flip: one solved stage, λ logged, a model predict reads', async () => {
    const out = join(work, 'ridge');
    const res = await runCli([...base(out), '--head_solver', 'ridge', '--tta', 'flip'], childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'ridge' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'ridge');
    assert.equal(run.info.status, 'FINISHED');
    const tags = tagsOf(run);
    assert.ok(Number(tags['transferkit.ridge_lambda']) > 0, `ridge_lambda tag: ${tags['transferkit.ridge_lambda']}`);
    assert.ok(Number(tags['transferkit.ridge_temperature']) > 0);
    assert.equal(paramsOf(run)['tta'], 'flip');
    assert.ok(Number.isFinite(run.data.metrics?.find((m) => m.key === 'test_accuracy')?.value));
    assert.equal(paramsOf(run)['effective_effective_head'], 'linear');
    assert.deepEqual(await historySteps(client, run.info.run_id, 'val_loss'), [0]);
    const meta: unknown = JSON.parse(await readFile(join(out, 'model', 'transferkit.json'), 'utf8'));
    assert.ok(typeof meta === 'object' && meta !== null);
    const predicted = join(work, 'ridge-predictions.json');
    const pred = await runCli(['predict', '--model', join(out, 'model'), '--format', 'json', '--output', predicted, '--data_dir', data, 'dataset:cifar10'], childEnv());
    assert.equal(pred.exitCode, 0, pred.stderr.slice(-3000));
    const got: unknown = JSON.parse(await readFile(predicted, 'utf8'));
    assert.ok(typeof got === 'object' && got !== null && 'predictions' in got && Array.isArray(got.predictions));
    assert.equal(got.predictions.length, 30);
  });
});
