/**
 * AdaBN (src/pipeline/model/adabn.ts) on a small graph backbone (BN stem, a residual block, BN top):
 * the moving statistics equal an independent float64 computation of each BN layer's input moments
 * under the sequential definition (earlier layers already adapted), every other weight is bit-identical,
 * and the BN outputs on the target images then have per-channel mean beta.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { adaptBatchNorm, batchNormLayers } from '../../../src/pipeline/model/adabn.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { inputsOf } from '../../../src/pipeline/model/graph.js';
import { imageBatch } from '../../../src/pipeline/model/input.js';
import { imageSource, type BatchSource } from '../../../src/pipeline/train/source.js';
import { FreezableBatchNorm } from '../../../src/pipeline/model/layers/batch-norm.js';
import { syntheticImageSet } from '../../support/make-datasets.js';
import { TINY_GRAPH } from '../../support/tiny-graph.js';

const SIZE = 8;
const input = { inputSize: SIZE, preprocessing: TINY_GRAPH.preprocessing };
const BNS = ['stem_bn', 'res1_a_bn', 'res1_b_bn', 'top_bn'];

/** A shifted domain: darker, lower-contrast images. */
function shifted(set: ImageSet): ImageSet {
  return { ...set, images: Uint8Array.from(set.images, (v) => 20 + Math.round(v * 0.4)) };
}
const target = shifted(syntheticImageSet({ count: 37, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 21 }));

/** A classifier whose BN layers have non-trivial gamma, beta and (source) statistics. */
function build(): tf.LayersModel {
  const model = buildClassifier(TINY_GRAPH, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 4 });
  batchNormLayers(model).forEach((l, i) => {
    const c = l.getWeights()[0]?.shape[0] ?? 0;
    const vec = (f: (j: number) => number) => tf.tensor1d(Array.from({ length: c }, (_, j) => f(j)));
    l.setWeights([vec((j) => 0.5 + 0.1 * j + 0.05 * i), vec((j) => 0.3 * j - 0.2 * i), vec((j) => 0.1 * j - 0.3), vec((j) => 0.5 + 0.2 * j)]);
  });
  return model;
}

const bnStats = (model: tf.LayersModel, name: string) => model.getLayer(name).getWeights().slice(2).map((w) => Float64Array.from(w.dataSync()));

/** Per-channel mean and population variance over every image and position, in float64 (plain loops). */
function channelMoments(t: tf.Tensor): { mean: Float64Array; variance: Float64Array } {
  const c = t.shape.at(-1) ?? 0;
  const data = t.dataSync();
  const rows = data.length / c;
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < data.length; i++) mean[i % c] = (mean[i % c] ?? 0) + (data[i] ?? 0) / rows;
  for (let i = 0; i < data.length; i++) variance[i % c] = (variance[i % c] ?? 0) + ((data[i] ?? 0) - (mean[i % c] ?? 0)) ** 2 / rows;
  return { mean, variance };
}

/** The input of BN layer `name` on every target image, through the model as it is now. */
function bnInput(model: tf.LayersModel, name: string): tf.Tensor {
  const x = imageBatch(target, Int32Array.from({ length: target.count }, (_, i) => i), input);
  const at = inputsOf(model.getLayer(name))[0];
  if (at === undefined) throw new Error('no input');
  const y = tf.model({ inputs: model.inputs, outputs: at }).predict(x);
  x.dispose();
  if (Array.isArray(y)) throw new Error('one output expected');
  return y;
}

function close(actual: Float64Array, expected: Float64Array, what: string, tol = 1e-4): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((a, i) => assert.ok(Math.abs(a - (expected[i] ?? Number.NaN)) <= tol * (1 + Math.abs(expected[i] ?? 0)), `${what}[${i}]: ${a} vs ${expected[i]}`));
}

const maxDiff = (a: Float64Array, b: Float64Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);

describe('AdaBN', () => {
  before(async () => {
    await initBackend('tensorflow');
  });

  it('sets each BN layer to the moments of its input with the earlier layers adapted, and changes nothing else', async () => {
    const model = build();
    // what a one-pass (non-sequential) estimate would give: every layer's input under the source statistics
    const oneShot = new Map(BNS.map((n) => {
      const y = bnInput(model, n);
      const m = channelMoments(y);
      y.dispose();
      return [n, m];
    }));
    const others = model.weights.filter((w) => !/moving_(mean|variance)/.test(w.originalName)).map((w) => ({ name: w.originalName, bytes: Buffer.from(w.read().dataSync().buffer).toString('base64') }));
    assert.ok(others.length > 10);
    const result = await adaptBatchNorm(model, imageSource(target, input), { batchSize: 5 });
    assert.deepEqual(result, { layers: BNS, images: target.count });
    for (const name of BNS) {
      const y = bnInput(model, name); // layers before `name` now carry their adapted statistics
      const expected = channelMoments(y);
      y.dispose();
      const [mean, variance] = bnStats(model, name);
      if (mean === undefined || variance === undefined) throw new Error('no statistics');
      close(mean, expected.mean, `${name} mean`);
      close(variance, expected.variance, `${name} variance`);
    }
    // the sequential definition differs from the one-pass one after the first layer: the check above can tell them apart
    const later = oneShot.get('res1_b_bn');
    const [laterMean] = bnStats(model, 'res1_b_bn');
    if (later === undefined || laterMean === undefined) throw new Error('missing');
    assert.ok(maxDiff(later.mean, laterMean) > 1e-2, `one-pass and sequential means differ (${maxDiff(later.mean, laterMean)})`);
    const after = model.weights.filter((w) => !/moving_(mean|variance)/.test(w.originalName)).map((w) => ({ name: w.originalName, bytes: Buffer.from(w.read().dataSync().buffer).toString('base64') }));
    assert.deepEqual(after, others);
    model.dispose();
  });

  it('leaves every BN output on the target images with per-channel mean beta and variance gamma²·σ²/(σ²+ε)', async () => {
    const model = build();
    await adaptBatchNorm(model, imageSource(target, input), { batchSize: 8 });
    for (const layer of batchNormLayers(model)) {
      const x = imageBatch(target, Int32Array.from({ length: target.count }, (_, i) => i), input);
      const y = tf.model({ inputs: model.inputs, outputs: layer.output instanceof tf.SymbolicTensor ? layer.output : [] }).predict(x);
      x.dispose();
      if (Array.isArray(y)) throw new Error('one output expected');
      const m = channelMoments(y);
      y.dispose();
      const [gamma, beta, , variance] = layer.getWeights().map((w) => Float64Array.from(w.dataSync()));
      if (gamma === undefined || beta === undefined || variance === undefined) throw new Error('weights');
      close(m.mean, beta, `${layer.name} output mean`, 1e-3);
      close(m.variance, Float64Array.from(variance, (v, c) => (gamma[c] ?? 0) ** 2 * v / (v + 1e-3)), `${layer.name} output variance`, 1e-3);
    }
    model.dispose();
  });

  it('gives the same statistics whether or not it keeps block activations, and adapts only the selected layers', async () => {
    const kept = build();
    const recomputed = build();
    await adaptBatchNorm(kept, imageSource(target, input), { batchSize: 6 });
    await adaptBatchNorm(recomputed, imageSource(target, input), { batchSize: 6, memoryBudgetBytes: 0 });
    for (const name of BNS) {
      const [a, b] = [bnStats(kept, name), bnStats(recomputed, name)];
      a.forEach((s, i) => close(s, b[i] ?? new Float64Array(), `${name} stat ${i}`, 1e-6));
    }
    const partial = build();
    const before = bnStats(partial, 'stem_bn');
    const r = await adaptBatchNorm(partial, imageSource(target, input), { batchSize: 6, select: (l) => l.name !== 'stem_bn' });
    assert.deepEqual(r.layers, ['res1_a_bn', 'res1_b_bn', 'top_bn']);
    assert.deepEqual(bnStats(partial, 'stem_bn'), before);
    [kept, recomputed, partial].forEach((m) => m.dispose());
  });

  it('moving to a later block frees each kept batch as its successor is made: at most one block of activations (plus a batch) within the budget', async () => {
    const [S, C, N, BATCH] = [16, 8, 100, 10];
    const inp = tf.input({ shape: [S, S, 3] });
    let x: tf.SymbolicTensor | tf.SymbolicTensor[] | tf.Tensor | tf.Tensor[] = inp;
    const convs: tf.layers.Layer[] = [];
    for (let k = 0; k < 4; k++) {
      const conv = tf.layers.conv2d({ name: `c${k}`, filters: C, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: k }) });
      convs.push(conv);
      x = new FreezableBatchNorm({ name: `bn${k}` }).apply(conv.apply(x));
    }
    if (!(x instanceof tf.SymbolicTensor)) throw new Error('symbolic');
    const model = tf.model({ inputs: inp, outputs: x });
    model.layers.forEach((l) => (l.trainable = false));
    const images = tf.randomUniform([N, S, S, 3], -1, 1, 'float32', 1);
    const source: Pick<BatchSource, 'count' | 'batch'> = { count: N, batch: (idx) => tf.gather(images, Array.from(idx)) };
    // the tensor bytes held beyond what existed before, sampled whenever a conv runs
    const base = tf.memory().numBytes;
    let peak = 0;
    for (const conv of convs) {
      const call = conv.call.bind(conv);
      conv.call = (inputs, kwargs) => {
        peak = Math.max(peak, tf.memory().numBytes - base);
        return call(inputs, kwargs);
      };
    }
    const frontier = S * S * C * 4 * N;
    const budget = 1.2 * frontier; // one block's activations fit, two do not
    const r = await adaptBatchNorm(model, { ...source, labels: new Int32Array(N) }, { batchSize: BATCH, memoryBudgetBytes: budget });
    assert.deepEqual(r.layers, ['bn0', 'bn1', 'bn2', 'bn3']);
    assert.ok(peak <= budget, `peak ${peak} bytes of activations against a budget of ${budget} (one block: ${frontier})`);
    assert.ok(peak >= frontier, `the blocks were kept (peak ${peak})`);
    images.dispose();
    model.dispose();
  });
});

