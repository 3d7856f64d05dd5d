/**
 * Graph backbones on the native backend: freezing by block, the activation-cache cut at block
 * boundaries, and BatchNorm as Keras does it (a frozen BN runs on its moving statistics and never
 * updates them; a trainable one trains). The cached path and the uncached one give the same model.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { ParamError } from '../../../src/errors.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { splitAtFreeze } from '../../../src/pipeline/cache/split.js';
import { snapshotTensors } from '../../../src/pipeline/checkpoint/tensors.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { BestWeights } from '../../../src/pipeline/train/early-stop.js';
import { fit } from '../../../src/pipeline/train/fit.js';
import { trainingInputs } from '../../../src/pipeline/train/inputs.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { syntheticImageSet } from '../../support/make-datasets.js';
import { TINY_GRAPH } from '../../support/tiny-graph.js';

const SIZE = 8;
const input = { inputSize: SIZE, preprocessing: TINY_GRAPH.preprocessing };
const sets = {
  train: syntheticImageSet({ count: 48, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 11 }),
  validation: syntheticImageSet({ count: 12, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 12 }),
  test: syntheticImageSet({ count: 24, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 13 }),
};

function build(blocks: number | 'all') {
  const model = buildClassifier(TINY_GRAPH, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 4 });
  applyFreeze(model, TINY_GRAPH, planFreeze(TINY_GRAPH, { convLayers: 0, blocks }));
  return model;
}
const bnStats = (model: tf.LayersModel, name: string) => model.getLayer(name).getWeights().slice(2).map((w) => Array.from(w.dataSync()));
const BNS = ['stem_bn', 'res1_a_bn', 'res1_b_bn', 'top_bn'];

async function train(model: tf.LayersModel, trainSet = imageSource(sets.train, input), validation = imageSource(sets.validation, input)) {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return fit(model, { train: trainSet, validation, numClasses: 3, batchSize: 8, maxEpochs: 3, patience: undefined, seed: 5, now: Date.now });
}

describe('graph backbone: blocks, BatchNorm, cut', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-graph-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('cuts at the block boundary before the first trainable block, never inside the residual branch', () => {
    const cases = [
      { blocks: 1, cut: 'res1_out', shape: [SIZE, SIZE, 6] },
      { blocks: 2, cut: 'stem_relu', shape: [SIZE, SIZE, 6] },
      { blocks: 0, cut: 'avg_pool', shape: [8] }, // everything frozen: past the weightless pooling
    ] as const;
    for (const c of cases) {
      const model = build(c.blocks);
      const split = splitAtFreeze(model);
      assert.equal(split?.cutAfter, c.cut, `retrained_blocks=${c.blocks}`);
      assert.deepEqual(split?.featureShape, c.shape);
      model.dispose();
    }
    const all = build('all');
    assert.equal(splitAtFreeze(all), undefined, 'nothing frozen: nothing to cut off');
    all.dispose();
  });

  it('refuses retrained_conv_layers on a graph backbone and points to retrained_blocks', () => {
    assert.throws(
      () => planFreeze(TINY_GRAPH, { convLayers: 2, blocks: 0 }),
      (e: unknown) => e instanceof ParamError && e.param === 'retrained_conv_layers' && /ambiguous; got 2/.test(e.message) && /"retrained_blocks" \(0 to 3: stem, res1, top\)/.test(e.message),
    );
    assert.deepEqual(planFreeze(TINY_GRAPH, { convLayers: 'all', blocks: 0 }).trainable, ['stem', 'res1', 'top']);
    assert.throws(() => planFreeze(TINY_GRAPH, { convLayers: 0, blocks: 4 }), (e: unknown) => e instanceof ParamError && /from 0 to 3 \(backbone tiny-graph has 3 blocks\)/.test(e.message));
  });

  it('a frozen BatchNorm keeps its moving statistics through training; a trainable one updates them', async () => {
    const model = build(1);
    const before = Object.fromEntries(BNS.map((n) => [n, bnStats(model, n)]));
    await train(model);
    for (const n of ['stem_bn', 'res1_a_bn', 'res1_b_bn']) assert.deepEqual(bnStats(model, n), before[n], `${n} is frozen: moving statistics unchanged`);
    assert.notDeepEqual(bnStats(model, 'top_bn'), before['top_bn'], 'top_bn trains: its moving statistics follow the batches');
    model.dispose();
  });

  it('cached and uncached training give the same model (frozen BN blocks, retrained_blocks=1)', async () => {
    const plain = build(1);
    const plainResult = await train(plain);
    const cached = build(1);
    const logger = pino({ level: 'silent' });
    const inputs = await trainingInputs(cached, sets, input, { mode: 'on', dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 28, maxDiskBytes: 2 ** 28, batchSize: 16, logger, now: Date.now, augment: [] });
    assert.equal(inputs.cacheTags['transferkit.activation_cache_cut_after'], 'res1_out');
    const cachedResult = await train(inputs.model, inputs.train, inputs.validation);
    plainResult.epochs.forEach((e, i) => assert.ok(Math.abs(e.loss - (cachedResult.epochs[i]?.loss ?? Number.NaN)) < 1e-4, `epoch ${i}: ${e.loss} vs ${cachedResult.epochs[i]?.loss}`));
    const all = Int32Array.from({ length: sets.test.count }, (_, i) => i);
    const p = (m: tf.LayersModel) => tf.tidy(() => Array.from((m.predict(imageSource(sets.test, input).batch(all)) as tf.Tensor).dataSync()));
    const a = p(plain);
    const b = p(cached);
    assert.ok(Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN)))) < 1e-4);
    // the cache runs the inference-compiled prefix (BatchNorm folded into the convs): the same
    // activations up to float32 rounding, so the trainable BN's statistics agree to rounding, not bit for bit
    const statsDiff = bnStats(cached, 'top_bn').flatMap((s, i) => s.map((v, j) => Math.abs(v - (bnStats(plain, 'top_bn')[i]?.[j] ?? Number.NaN))));
    assert.ok(Math.max(...statsDiff) < 1e-4, `same BN statistics either way (max diff ${Math.max(...statsDiff)})`);
    inputs.dispose();
    plain.dispose();
    cached.dispose();
  });

  it('best-weights restore and checkpoints carry the moving statistics of trainable BatchNorm layers', async () => {
    const model = build(1);
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
    const best = new BestWeights(model, 2);
    best.update(0, 1.0);
    const saved = bnStats(model, 'top_bn');
    await train(model);
    assert.notDeepEqual(bnStats(model, 'top_bn'), saved);
    best.restore();
    assert.deepEqual(bnStats(model, 'top_bn'), saved, 'restored to the best epoch, statistics included');
    const names = (await snapshotTensors(model, best.state)).weights?.map((t) => t.name) ?? [];
    assert.ok(names.includes('top_bn/moving_mean') && names.includes('top_bn/moving_variance'), names.join(', '));
    assert.ok(!names.some((n) => n.startsWith('stem_bn/')), 'frozen layers are not checkpointed');
    best.dispose();
    model.dispose();
  });
});
