/**
 * The label-scarce recipes through the built CLI against a real MLflow server: the ridge-solved
 * linear probe logs its λ (from its prior at 1 label per class without validation), and its model is an ordinary one that `transferkit predict` reads; test-time
 * augmentation is logged as a parameter and scores the test set; backbone_lr_factor and l2sp_weight
 * reach the target model's training (its exported conv layers stay where they started).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/pipeline/backend.js';
import { join } from 'node:path';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { RIDGE_LAMBDA_PRIOR, RIDGE_TEMPERATURE_PRIOR } from '../../src/pipeline/train/ridge-prior.js';
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
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
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
    assert.equal(paramsOf(run)['effective_head'], 'linear');
    assert.equal(paramsOf(run)['effective_head_solver'], 'ridge');
    assert.equal(tags['transferkit.head_solver_reason'], 'head_solver=ridge');
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

  it('head_solver=ridge at 1 label per class without a validation split: λ from its prior, logged as such', async () => {
    const out = join(work, 'ridge-prior');
    const args = [
      'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--batch_size', '8', '--output_dir', out,
      '--head_solver', 'ridge', '--samples_per_class', '1', '--validation_fraction', '0', '--use_early_stop', '0',
    ];
    const res = await runCli(args, childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'ridge-prior' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const tags = tagsOf(await onlyRun(clientFor(server.url), 'ridge-prior'));
    assert.equal(tags['transferkit.ridge_selected_on'], 'prior');
    assert.ok(Math.abs(Number(tags['transferkit.ridge_lambda_relative']) / RIDGE_LAMBDA_PRIOR - 1) < 1e-9, tags['transferkit.ridge_lambda_relative']);
    assert.equal(Number(tags['transferkit.ridge_temperature']), RIDGE_TEMPERATURE_PRIOR);
  });

  /** The largest change of any conv weight between two exported models. */
  async function convDrift(from: string, to: string): Promise<number> {
    const [a, b] = await Promise.all([from, to].map((dir) => tf.loadLayersModel(`file://${join(dir, 'model.json')}`)));
    assert.ok(a !== undefined && b !== undefined);
    const drift = (names: readonly string[]) => Math.max(...names.flatMap((name) => {
      const [wa, wb] = [a.getLayer(name).getWeights(), b.getLayer(name).getWeights()];
      return wa.map((w, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(w, wb[i] ?? w))).dataSync()[0] ?? Number.NaN));
    }));
    const convs = a.layers.filter((l) => l.getClassName() === 'Conv2D').map((l) => l.name);
    assert.ok(convs.length > 0);
    const result = drift(convs);
    a.dispose();
    b.dispose();
    return result;
  }

  it('backbone_lr_factor=0 and a huge l2sp_weight keep the fine-tuned conv layers at the transferred weights', async () => {
    // the transferred weights: the ridge run's model folder (small-cnn, its conv layers as initialised)
    const source = join(work, 'ridge', 'model');
    const env = childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'fine-tune' });
    const runs = { still: ['--backbone_lr_factor', '0'], pulled: ['--l2sp_weight', '1000000'], free: [] } as const;
    const drifts: Record<string, number> = {};
    for (const [name, extra] of Object.entries(runs)) {
      const out = join(work, name);
      const args = [...base(out).map((a) => (a === 'none' ? source : a)), '--retrained_conv_layers', 'all', '--max_epochs', '3', '--use_early_stop', '0', '--learning_rate', '0.01', ...extra];
      const res = await runCli(args, env);
      assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
      drifts[name] = await convDrift(source, join(out, 'model'));
    }
    assert.equal(drifts['still'], 0, JSON.stringify(drifts));
    assert.ok((drifts['free'] ?? 0) > 0.05, JSON.stringify(drifts));
    assert.ok((drifts['pulled'] ?? 1) < 0.02, JSON.stringify(drifts));
  });
});
