/**
 * The recipe entry points end to end through `mlflow run` (and the CLI) against a real MLflow
 * server: source→target with the from-scratch baseline, feature extraction then fine-tuning in one
 * run, VGG19's last block on upsampled augmented images with a goal, and their bad inputs.
 */
import { after, before, describe, it } from 'node:test';
import { VGG_FILTERS } from '../../src/pipeline/model/arch/vgg.js';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { childEnv, mlflowRun, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { makeKerasNotopH5 } from '../support/make-keras-h5.js';
import { artifactPaths, clientFor, historySteps, metricsOf, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

describe('recipes against a real MLflow server', () => {
  let server: TestServer;
  let data: string;
  let work: string;
  let vgg16: string;
  let vgg19: string;
  const env = (experiment: string) => childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: experiment });

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 50);
    work = await tempDir('recipes');
    vgg16 = join(work, 'vgg16_notop.h5');
    vgg19 = join(work, 'vgg19_notop.h5');
    await makeKerasNotopH5(vgg16, VGG_FILTERS.vgg16, { seed: 3 });
    await makeKerasNotopH5(vgg19, VGG_FILTERS.vgg19, { seed: 4 });
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('source_target: a source model on 0-4, transfer to 5-9 and the from-scratch baseline, in one run', async () => {
    const res = await mlflowRun(
      { samples_per_class: '10', source_epochs: '1', max_epochs: '2', source_samples_per_class: '40', output_dir: join(work, 'st') },
      childEnv({ MLFLOW_TRACKING_URI: server.url }),
      { experiment: 'recipe-st', entry: 'source_target' },
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'recipe-st');
    assert.equal(run.info.status, 'FINISHED');
    const metrics = metricsOf(run);
    for (const key of ['test_accuracy', 'source_test_accuracy', 'scratch_test_accuracy', 'transfer_seconds', 'scratch_seconds', 'source_seconds', 'transfer_minus_scratch_accuracy']) {
      assert.ok(Number.isFinite(metrics[key]), `${key} = ${metrics[key]}`);
    }
    assert.ok(Math.abs((metrics['transfer_minus_scratch_accuracy'] ?? 0) - ((metrics['test_accuracy'] ?? 0) - (metrics['scratch_test_accuracy'] ?? 0))) < 1e-9);
    assert.deepEqual(await historySteps(client, run.info.run_id, 'source_loss'), [0]);
    assert.equal((await historySteps(client, run.info.run_id, 'scratch_val_loss')).length >= 1, true);
    const steps = await historySteps(client, run.info.run_id, 'loss');
    assert.ok(steps.length >= 1 && steps.length <= 2, `target epochs ${steps.join(',')}`);
    assert.deepEqual(steps, steps.map((_, i) => i), 'one point per epoch, no duplicates');
    const tags = tagsOf(run);
    assert.match(tags['transferkit.transfer_vs_scratch'] ?? '', /^transfer \d+\.\d+% in .* vs from scratch \d+\.\d+% in /);
    assert.equal(paramsOf(run)['source_classes'], '0-4');
    const files = await artifactPaths(client, run);
    for (const f of ['model/model.h5', 'model/transferkit.json', 'source_model/transferkit.json', 'source_model/model.h5']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  });

  it('two stages in one run: the stage is a metric, epochs continue, each stage has its own cache cut', async () => {
    const res = await runCli(
      [
        'train', '--data_dir', data, '--weights', vgg16, '--samples_per_class', '8', '--max_epochs', '2', '--use_early_stop', '0', '--batch_size', '16',
        '--fine_tune_conv_layers', '2', '--fine_tune_epochs', '2', '--output_dir', join(work, 'two'),
      ],
      env('recipe-two'),
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'recipe-two');
    assert.equal(run.info.status, 'FINISHED');
    const stage = await client.getMetricHistory(run.info.run_id, 'stage');
    assert.deepEqual(stage.map((p) => [p.step, p.value]).sort((a, b) => Number(a[0]) - Number(b[0])), [[0, 1], [1, 1], [2, 2], [3, 2]]);
    assert.deepEqual(await historySteps(client, run.info.run_id, 'val_loss'), [0, 1, 2, 3]);
    const tags = tagsOf(run);
    assert.equal(tags['transferkit.activation_cache_cut_after'], 'flatten'); // everything frozen: the cut moves past the weightless Flatten
    assert.equal(tags['transferkit.activation_cache_cut_after_stage2'], 'block5_conv1');
    assert.match(tags['transferkit.stage_summary'] ?? '', /^stage 1: epochs 1-2 trained the head; .*stage 2: epochs 3-4 trained the head and block5_conv2, block5_conv3/);
    assert.equal(paramsOf(run)['effective_fine_tune_trainable_conv_layers'], 'block5_conv2,block5_conv3');
    assert.equal(metricsOf(run)['stage2_epochs'], 2);
  });

  it('vgg19_last_block: block 5 trains on upsampled, augmented images; the run reports its distance to the goal', async () => {
    const res = await mlflowRun(
      { samples_per_class: '4', max_epochs: '1', input_size: '48', data_dir: data, weights: vgg19, batch_size: '16', output_dir: join(work, 'v19') },
      childEnv({ MLFLOW_TRACKING_URI: server.url }),
      { experiment: 'recipe-vgg19', entry: 'vgg19_last_block' },
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'recipe-vgg19');
    assert.equal(run.info.status, 'FINISHED');
    const params = paramsOf(run);
    assert.equal(params['effective_trainable_conv_layers'], 'block5_conv1,block5_conv2,block5_conv3,block5_conv4');
    assert.equal(params['effective_input_size'], '48');
    const metrics = metricsOf(run);
    assert.ok(Math.abs((metrics['goal_gap'] ?? Number.NaN) - (0.9 - (metrics['test_accuracy'] ?? Number.NaN))) < 1e-9);
    const tags = tagsOf(run);
    assert.match(tags['transferkit.goal'] ?? '', /points (below|above) the 90\.00% goal/);
    assert.equal(tags['transferkit.augment'], 'flip,crop');
    assert.match(tags['transferkit.activation_cache_train'] ?? '', /augmentation changes its inputs every epoch/);
    assert.match(res.stderr, /activation cache off for the training set/);
  });

  for (const [flags, param] of [
    [['--backbone', 'vgg19', '--retrained_blocks', '6'], 'retrained_blocks'],
    [['--retrained_conv_layers', '3', '--fine_tune_conv_layers', '2'], 'fine_tune_conv_layers'],
    [['--augment', 'rotate'], 'augment'],
    [['--classes', '5-9', '--source_classes', '3-6', '--source_epochs', '1', '--max_epochs', '1', '--samples_per_class', '4'], 'source_classes'],
  ] as const) {
    it(`refuses ${flags.join(' ')} before training: exit 2, run FAILED naming ${param}`, async () => {
      const experiment = `recipe-bad-${param}`;
      const res = await runCli(['train', '--data_dir', data, '--weights', vgg16, ...flags], env(experiment));
      assert.equal(res.exitCode, 2, res.stderr.slice(-2000));
      assert.match(res.stderr, new RegExp(`"${param}"`));
      assert.doesNotMatch(res.stderr, /\n\s+at /);
      const run = await onlyRun(clientFor(server.url), experiment);
      assert.equal(run.info.status, 'FAILED');
      assert.match(tagsOf(run)['mlflow.note.content'] ?? '', new RegExp(param));
    });
  }
});
