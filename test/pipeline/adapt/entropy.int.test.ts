import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { datasetEntropy, meanEntropy, predictionEntropy } from '../../../src/pipeline/adapt/selection.js';

describe('prediction entropy', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('is log(C) for uniform rows, 0 for one-hot rows, −Σ p log p otherwise', () => {
    const h = tf.tidy(() => Array.from(predictionEntropy(tf.tensor2d([[0.25, 0.25, 0.25, 0.25], [0, 1, 0, 0], [0.5, 0.5, 0, 0], [0.7, 0.1, 0.1, 0.1]])).dataSync()));
    const expected = [Math.log(4), 0, Math.log(2), -(0.7 * Math.log(0.7) + 3 * 0.1 * Math.log(0.1))];
    h.forEach((v, i) => assert.ok(Math.abs(v - (expected[i] ?? Number.NaN)) < 1e-5, `row ${i}: ${v}`));
    const mean = tf.tidy(() => meanEntropy(tf.tensor2d([[0.5, 0.5], [1, 0]])).dataSync()[0]);
    assert.ok(Math.abs((mean ?? Number.NaN) - Math.log(2) / 2) < 1e-6);
    assert.equal(tf.tidy(() => meanEntropy(tf.zeros([0, 3])).dataSync()[0]), 0);
  });

  it('datasetEntropy averages a model over a whole batch source, batch by batch, without leaks', async () => {
    // A softmax layer with zero kernel and bias predicts uniform probabilities: entropy log(3).
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, activation: 'softmax', kernelInitializer: 'zeros' })] });
    const source = { count: 7, batch: (indices: ArrayLike<number>) => tf.ones([indices.length, 2]) };
    const before = tf.memory().numTensors;
    const h = await datasetEntropy(model, source, 3);
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Math.abs(h - Math.log(3)) < 1e-5, `${h}`);
    assert.equal(await datasetEntropy(model, { count: 0, batch: source.batch }, 3), 0);
    await assert.rejects(datasetEntropy(model, source, 0), RangeError);
    model.dispose();
  });
});
