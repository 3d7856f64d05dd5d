/**
 * Discriminative learning rates and L2-SP. FlatAdam is tfjs's Adam when every multiplier is 1 and
 * its state round-trips (checkpoints); with backbone_lr_factor 0 the backbone's weights do not move
 * while the head does, but a trainable BatchNorm still updates its moving statistics (as documented); with a huge L2-SP weight the backbone stays at its starting weights while without
 * it the same training moves them.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { backboneLayers, buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { FlatAdam } from '../../../src/pipeline/train/adam.js';
import { trainPhase } from '../../../src/pipeline/train/stages.js';
import { supervisedSets } from '../../../src/pipeline/train/inputs.js';
import { syntheticImageSet } from '../../support/make-datasets.js';
import { tinyBackbone } from '../../support/tiny.js';

const { spec: TINY, input } = tinyBackbone();
const LR = 0.01;

/** Quadratic steps on two variables; returns their values after `steps` steps. */
async function quadratic(optimizer: tf.Optimizer, a: tf.Variable, b: tf.Variable, steps: number): Promise<number[]> {
  for (let i = 0; i < steps; i++) {
    optimizer.minimize(() => tf.add(tf.sum(tf.square(tf.sub(a, 3))), tf.sum(tf.square(tf.mul(b, 2)))), false, [a, b]);
  }
  return [...(await a.data()), ...(await b.data())];
}

const maxAbsDiff = async (x: readonly tf.Tensor[], y: readonly tf.Tensor[]) => {
  let m = 0;
  for (const [i, t] of x.entries()) {
    const other = y[i];
    assert.ok(other !== undefined);
    const d = tf.tidy(() => tf.max(tf.abs(tf.sub(t, other))));
    m = Math.max(m, (await d.data())[0] ?? Number.NaN);
    d.dispose();
  }
  return m;
};

describe('discriminative learning rates and L2-SP', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  it("FlatAdam with multipliers 1 is tfjs's Adam, and its state round-trips", async () => {
    const init = () => [tf.variable(tf.tensor1d([0.5, -1])), tf.variable(tf.tensor1d([2]))] as const;
    const [a1, b1] = init();
    const [a2, b2] = init();
    const adam = tf.train.adam(0.1);
    const scaled = new FlatAdam(0.1, () => 1);
    const ref = await quadratic(adam, a1, b1, 5);
    const ours = await quadratic(scaled, a2, b2, 5);
    ours.forEach((v, i) => assert.ok(Math.abs(v - (ref[i] ?? 0)) < 2e-5, `step 5 value ${i}: ${v} vs Adam ${ref[i]}`));
    // (float32 bias corrections in tfjs, float64 here: the last digits differ)
    // a fresh optimizer given the state continues exactly as the original does
    const resumed = new FlatAdam(0.1, () => 1);
    await resumed.setWeights((await scaled.getWeights()).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    const [a3, b3] = [tf.variable(a2.clone()), tf.variable(b2.clone())];
    const continued = await quadratic(scaled, a2, b2, 2);
    const fromState = await quadratic(resumed, a3, b3, 2);
    continued.forEach((v, i) => assert.ok(Math.abs(v - (fromState[i] ?? 0)) < 1e-6));
    // tfjs's Adam's state (a checkpoint written before FlatAdam) continues in FlatAdam as in Adam
    const fromAdam = new FlatAdam(0.1);
    await fromAdam.setWeights((await adam.getWeights()).map((w) => ({ name: w.name, tensor: tf.clone(w.tensor) })));
    const [a5, b5] = [tf.variable(a1.clone()), tf.variable(b1.clone())];
    const adamOn = await quadratic(adam, a1, b1, 3);
    const flatOn = await quadratic(fromAdam, a5, b5, 3);
    flatOn.forEach((v, i) => assert.ok(Math.abs(v - (adamOn[i] ?? 0)) < 2e-5, `continued value ${i}: ${v} vs Adam ${adamOn[i]}`));
    // its state has Adam's layout: per variable, in the variables' shapes
    const layout = async (o: tf.Optimizer, vars: readonly tf.Variable[]) =>
      (await o.getWeights()).map((w) => [vars.reduce((n, v, i) => n.replace(v.name, `var${i}`), w.name), w.tensor.shape]);
    assert.deepEqual(await layout(fromAdam, [a5, b5]), await layout(adam, [a1, b1]));
    // a multiplier scales the step; 0 stands still
    const [a4, b4] = init();
    const half = await quadratic(new FlatAdam(0.1, (name) => (name === a4.name ? 0 : 1)), a4, b4, 3);
    assert.deepEqual(half.slice(0, 2), [0.5, -1]);
    assert.ok(Math.abs((half[2] ?? 0) - 2) > 0.1);
  });

  const sets = {
    train: syntheticImageSet({ count: 32, height: 8, width: 8, channels: 3, numClasses: 2, seed: 1 }),
    validation: syntheticImageSet({ count: 8, height: 8, width: 8, channels: 3, numClasses: 2, seed: 2 }),
    test: syntheticImageSet({ count: 8, height: 8, width: 8, channels: 3, numClasses: 2, seed: 3 }),
  };

  /** Trains every layer for 3 epochs; returns how far the backbone's and the head's weights moved. */
  async function moved(options: { backboneLrFactor?: number; l2spWeight?: number }): Promise<{ backbone: number; head: number; loss: number }> {
    const model = buildClassifier(TINY, 8, { numClasses: 2, denseUnits: 8, dropout: 0, seed: 4 });
    const backbone = backboneLayers(model, TINY).flatMap(({ layer }) => layer.trainableWeights);
    const head = ['fc1', 'predictions'].flatMap((n) => model.getLayer(n).trainableWeights);
    const before = [...backbone, ...head].map((w) => tf.clone(w.read()));
    const result = await trainPhase(model, {
      phase: 'target', stages: [{ plan: planFreeze(TINY, 'all'), learningRate: LR, maxEpochs: 3 }], backbone: TINY, sets: supervisedSets(sets, []), numClasses: 2, input,
      cache: { mode: 'off', dtype: 'float32', cacheRoot: tmpdir(), memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 8, logger: pino({ level: 'silent' }), now: Date.now, augment: [] },
      batchSize: 8, patience: undefined, seed: 3, now: Date.now, ...options,
    });
    const out = {
      backbone: await maxAbsDiff(backbone.map((w) => w.read()), before.slice(0, backbone.length)),
      head: await maxAbsDiff(head.map((w) => w.read()), before.slice(backbone.length)),
      loss: result.epochs[0]?.loss ?? Number.NaN,
    };
    tf.dispose(before);
    model.dispose();
    return out;
  }

  it('backbone_lr_factor 0: the backbone does not move, the head does', async () => {
    const still = await moved({ backboneLrFactor: 0 });
    assert.equal(still.backbone, 0);
    assert.ok(still.head > LR, `head moved ${still.head}`);
    const plain = await moved({});
    assert.ok(plain.backbone > LR, `without the factor the backbone moves (${plain.backbone})`);
  });

  it('L2-SP: a huge weight keeps the backbone at its starting weights; without it they move', async () => {
    const free = await moved({});
    const pulled = await moved({ l2spWeight: 1e6 });
    assert.ok(free.backbone > 5 * LR, `without L2-SP the backbone moved ${free.backbone}`);
    // Adam's steps are about the learning rate in size: the pull keeps every weight within a few of them
    assert.ok(pulled.backbone < 2 * LR, `with L2-SP the backbone moved ${pulled.backbone}`);
    assert.ok(pulled.head > LR, 'the head is not pulled');
    assert.ok(pulled.loss > free.loss, 'the term is part of the training loss');
  });

  it('backbone_lr_factor 0 on a BatchNorm backbone (Lite0): weights stay, moving means and variances follow the batches', async () => {
    const lite0 = getBackbone('efficientnet_lite0');
    const size = lite0.minInputSize;
    const liteInput = { inputSize: size, preprocessing: lite0.preprocessing };
    const model = buildClassifier(lite0, size, { numClasses: 2, denseUnits: 8, dropout: 0, seed: 4, head: 'linear' });
    const layers = backboneLayers(model, lite0).map(({ layer }) => layer);
    const weights = layers.flatMap((l) => l.trainableWeights);
    const moving = layers.flatMap((l) => l.weights.filter((w) => /moving_(mean|variance)/.test(w.name)));
    assert.ok(moving.length > 0, 'Lite0 has BatchNorm layers');
    const before = [...weights, ...moving].map((w) => tf.clone(w.read()));
    const small = (count: number, seed: number) => syntheticImageSet({ count, height: size, width: size, channels: 3, numClasses: 2, seed });
    await trainPhase(model, {
      phase: 'target', stages: [{ plan: planFreeze(lite0, 'all'), learningRate: LR, maxEpochs: 1 }], backbone: lite0,
      sets: supervisedSets({ train: small(8, 1), validation: small(4, 2), test: small(4, 3) }, []), numClasses: 2, input: liteInput,
      cache: { mode: 'off', dtype: 'float32', cacheRoot: tmpdir(), memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 4, logger: pino({ level: 'silent' }), now: Date.now, augment: [] },
      batchSize: 4, patience: undefined, seed: 3, now: Date.now, backboneLrFactor: 0,
    });
    assert.equal(await maxAbsDiff(weights.map((w) => w.read()), before.slice(0, weights.length)), 0, 'kernels, gamma and beta stay');
    assert.ok((await maxAbsDiff(moving.map((w) => w.read()), before.slice(weights.length))) > 0, 'the moving statistics moved');
    tf.dispose(before);
    model.dispose();
  });
});
