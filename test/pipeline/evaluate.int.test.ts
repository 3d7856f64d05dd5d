/** evaluate: the loss, accuracy, confusion matrix and mistakes of known probabilities, batch by batch. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/pipeline/backend.js';
import { evaluate } from '../../src/pipeline/evaluate.js';
import type { BatchSource } from '../../src/pipeline/train/source.js';

describe('evaluate', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  it('scores the softmax outputs: clipped cross-entropy, first-max predictions, confusion and mistakes', async () => {
    // softmax(log p) = p: a Dense layer with the identity kernel turns log-probabilities into p
    const probs = [
      [0.7, 0.2, 0.1], // label 0, right
      [0.5, 0.25, 0.25], // label 1, predicted 0 with 0.5
      [0.2, 0.2, 0.6], // label 2, right
      [0.4, 0.4, 0.2], // label 1, a tie: the first class wins, so a mistake with 0.4
      [1e-9, 1 - 2e-9, 1e-9], // label 0: its probability is clipped to 1e-7
    ];
    const labels = Int32Array.from([0, 1, 2, 1, 0]);
    const source: BatchSource = {
      count: probs.length,
      labels,
      batch: (indices) => tf.log(tf.tensor2d(Array.from(indices, (i) => probs[i] ?? []))),
    };
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 3, activation: 'softmax', useBias: false, kernelInitializer: 'identity' })] });
    const result = await evaluate(model, source, 3, 2);
    const expectedLoss = -(Math.log(0.7) + Math.log(0.25) + Math.log(0.6) + Math.log(0.4) + Math.log(1e-7)) / 5;
    assert.ok(Math.abs(result.loss - expectedLoss) < 1e-5, `loss ${result.loss} vs ${expectedLoss}`);
    assert.equal(result.accuracy, 2 / 5);
    assert.deepEqual(result.confusion, [[1, 1, 0], [2, 0, 0], [0, 0, 1]]);
    assert.deepEqual(result.perClassAccuracy, [0.5, 0, 1]);
    const mistakes = (result.mistakes ?? []).map((m) => [m.index, m.label, m.predicted, Number(m.probability.toFixed(3))]);
    assert.deepEqual(new Set(mistakes.map((m) => JSON.stringify(m))), new Set([[1, 1, 0, 0.5], [3, 1, 0, 0.4], [4, 0, 1, 1]].map((m) => JSON.stringify(m))));
  });
});
