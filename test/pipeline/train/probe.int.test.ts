/**
 * The ridge probe as a training stage: the solved Dense layer holds the ridge solution (at the λ it
 * logs) times the temperature, on the frozen backbone's pooled features, with and without the
 * activation cache; a fine-tuning stage can follow it (LP-FT); its tags survive a resume after it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { imageBatch } from '../../../src/pipeline/model/input.js';
import { ridgeSolutions } from '../../../src/pipeline/train/ridge.js';
import { trainPhase, type PhaseOptions, type PhaseProgress, type StageSpec } from '../../../src/pipeline/train/stages.js';
import { supervisedSets } from '../../../src/pipeline/train/inputs.js';
import { tinyBackbone, colourImages } from '../../support/tiny.js';

const { spec: TINY, input } = tinyBackbone();
const images = colourImages;


describe('ridge probe stage', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-probe-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const sets = { train: images(24, 1), validation: images(12, 2), test: images(30, 3) };
  const run = (mode: 'on' | 'off', stages: readonly StageSpec[], more: Partial<PhaseOptions> = {}, data: typeof sets = sets) => {
    const model = buildClassifier(TINY, 8, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 5, head: 'linear' });
    const result = trainPhase(model, {
      phase: 'target', stages, backbone: TINY, sets: supervisedSets(data, []), numClasses: 3, input,
      cache: { mode, dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 16, logger: pino({ level: 'silent' }), now: Date.now, augment: [] },
      batchSize: 8, patience: 3, seed: 3, now: Date.now, ...more,
    });
    return { model, result };
  };
  const probe: StageSpec = { plan: planFreeze(TINY, 0), learningRate: 0.01, maxEpochs: 1, solver: 'ridge' };

  const kernels: Float32Array[] = [];
  for (const mode of ['off', 'on'] as const) {
    it(`writes T × the ridge solution at the logged λ into the Dense layer (activation_cache=${mode})`, async () => {
      const { model, result: pending } = run(mode, [probe]);
      const result = await pending;
      assert.equal(result.epochs.length, 1);
      const lambda = Number(result.cacheTags['transferkit.ridge_lambda']);
      const temperature = Number(result.cacheTags['transferkit.ridge_temperature']);
      assert.ok(lambda > 0 && temperature > 0, JSON.stringify(result.cacheTags));
      assert.equal(result.cacheTags['transferkit.ridge_selected_on'], 'validation');
      assert.ok(['low', 'high', 'none'].includes(result.cacheTags['transferkit.ridge_lambda_at_edge'] ?? ''), JSON.stringify(result.cacheTags));
      // the pooled features, read independently of the probe through the classifier's own graph
      const pooled = tf.model({ inputs: model.inputs, outputs: model.getLayer('avg_pool').output });
      const all = Int32Array.from({ length: sets.train.count }, (_, i) => i);
      const feats = tf.tidy(() => pooled.predict(imageBatch(sets.train, all, input)));
      assert.ok(!Array.isArray(feats));
      const values = Float32Array.from(await feats.data());
      const [expected] = ridgeSolutions({ values, labels: sets.train.labels, count: sets.train.count, dim: 8 }, 3, [lambda]);
      const [kernel, bias] = model.getLayer('predictions').getWeights();
      assert.ok(expected !== undefined && kernel !== undefined && bias !== undefined);
      const k = await kernel.data();
      expected.kernel.forEach((v, i) => assert.ok(Math.abs((k[i] ?? 0) - v * temperature) < 1e-3 * (1 + Math.abs(v * temperature)), `kernel[${i}] ${k[i]} vs ${v * temperature}`));
      kernels.push(Float32Array.from(k));
      assert.ok(result.test.accuracy > 0.9, `test accuracy ${result.test.accuracy}`);
      model.dispose();
    });
  }

  it('without a validation split chooses λ by leave-one-out on the training images and says so', async () => {
    const { model, result: pending } = run('on', [probe], {}, { ...sets, validation: images(0, 2) });
    const result = await pending;
    assert.equal(result.cacheTags['transferkit.ridge_selected_on'], 'leave_one_out');
    assert.ok(Number(result.cacheTags['transferkit.ridge_lambda']) > 0, JSON.stringify(result.cacheTags));
    assert.ok(Number.isNaN(result.epochs[0]?.val_loss), 'no validation metrics without a validation split');
    assert.ok(result.test.accuracy > 0.9, `test accuracy ${result.test.accuracy}`);
    model.dispose();
  });

  it('with poolValidation fits the training and validation images together, λ by their leave-one-out scores', async () => {
    const pooledRun = run('on', [{ ...probe, poolValidation: true }]);
    const pooledResult = await pooledRun.result;
    assert.equal(pooledResult.cacheTags['transferkit.ridge_selected_on'], 'leave_one_out');
    assert.equal(pooledResult.cacheTags['transferkit.ridge_trained_on'], 'train+validation');
    // the same solve as a run whose training set is both sets, in that order, and no validation split
    const both = {
      images: Uint8Array.from([...sets.train.images, ...sets.validation.images]),
      labels: Int32Array.from([...sets.train.labels, ...sets.validation.labels]),
      count: sets.train.count + sets.validation.count, height: sets.train.height, width: sets.train.width, channels: sets.train.channels,
    };
    const joined = run('on', [probe], {}, { train: both, validation: images(0, 2), test: sets.test });
    const joinedResult = await joined.result;
    assert.equal(joinedResult.cacheTags['transferkit.ridge_trained_on'], 'train');
    assert.equal(pooledResult.cacheTags['transferkit.ridge_lambda'], joinedResult.cacheTags['transferkit.ridge_lambda']);
    const [a] = pooledRun.model.getLayer('predictions').getWeights();
    const [b] = joined.model.getLayer('predictions').getWeights();
    assert.ok(a !== undefined && b !== undefined);
    const [ka, kb] = [await a.data(), await b.data()];
    ka.forEach((v, i) => assert.ok(Math.abs(v - (kb[i] ?? 0)) < 1e-3 * (1 + Math.abs(v)), `kernel[${i}] ${v} vs ${kb[i]}`));
    // and not the head the validation split would have chosen: it fitted 12 more images
    const first = kernels[0];
    assert.ok(first !== undefined && ka.some((v, i) => Math.abs(v - (first[i] ?? 0)) > 1e-3), 'pooling changed the solution');
    pooledRun.model.dispose();
    joined.model.dispose();
  });

  it('is the same solve with and without the activation cache', () => {
    const [off, on] = kernels;
    assert.ok(off !== undefined && on !== undefined);
    off.forEach((v, i) => assert.ok(Math.abs(v - (on[i] ?? 0)) < 1e-3 * (1 + Math.abs(v))));
  });

  it('can be followed by a fine-tuning stage that starts from the solved head (LP-FT)', async () => {
    const { model, result: pending } = run('on', [probe, { plan: planFreeze(TINY, 'all'), learningRate: 0.001, maxEpochs: 2 }]);
    const result = await pending;
    assert.deepEqual(result.epochs.map((e) => [e.epoch, e.stage]), [[0, 1], [1, 2], [2, 2]]);
    model.dispose();
  });

  it('a fine-tuning stage after the probe is not held to the probe\'s validation loss, which chose λ on that same split', async () => {
    // a learning rate that wrecks the fine-tuned model: with the probe's val_loss as the bar, every
    // fine-tuning epoch would lose to it and the probe (epoch 0) would be restored
    const noisy = { train: images(24, 1, 30), validation: images(12, 2, 30), test: images(30, 3, 30) };
    const { model, result: pending } = run('on', [probe, { plan: planFreeze(TINY, 'all'), learningRate: 5, maxEpochs: 2 }], {}, noisy);
    const result = await pending;
    const probeLoss = result.epochs[0]?.val_loss ?? Number.NaN;
    const tuned = result.epochs.slice(1).map((e) => e.val_loss);
    assert.ok(tuned.every((l) => l > probeLoss), `this test needs fine-tuning to be worse on validation: probe ${probeLoss}, tuned ${tuned.join(', ')}`);
    assert.ok(result.bestEpoch >= 1, `best epoch ${result.bestEpoch}: stage 2 chose among its own epochs`);
    model.dispose();
  });

  it('keeps the λ tags when a resume re-enters the finished probe stage (a crash before stage 2 started)', async () => {
    const lpft: StageSpec[] = [probe, { plan: planFreeze(TINY, 'all'), learningRate: 0.001, maxEpochs: 1 }];
    let saved: PhaseProgress | undefined;
    const first = run('off', lpft, { onProgress: async (p) => { if (p.stage === 1 && p.stageDone) saved ??= p; } });
    const firstResult = await first.result;
    assert.ok(saved !== undefined);
    const { stageEpochs, stageTags } = saved;
    assert.equal(stageTags['transferkit.ridge_lambda'], firstResult.cacheTags['transferkit.ridge_lambda']);
    const resumed = run('off', lpft, {
      resume: {
        stage: 1, earlierStages: [], fit: { epochs: stageEpochs, done: true, earlyStop: undefined, tags: stageTags }, stepState: [],
        // what is checked is the tags; stage 2 may start from any weights
        restore: async () => undefined,
      },
    });
    const result = await resumed.result;
    for (const key of ['transferkit.ridge_lambda', 'transferkit.ridge_temperature', 'transferkit.ridge_selected_on']) {
      assert.equal(result.cacheTags[key], firstResult.cacheTags[key], key);
    }
    first.model.dispose();
    resumed.model.dispose();
  });
});
