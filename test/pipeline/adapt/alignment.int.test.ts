import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { ClassMarginal } from '../../../src/pipeline/adapt/class-marginal.js';
import { alignDistribution } from '../../../src/pipeline/adapt/pseudo-label.js';

const rows = (t: tf.Tensor): number[][] => {
  const out = t.arraySync();
  t.dispose();
  if (!Array.isArray(out)) throw new Error('expected a matrix');
  return out.map((r) => (Array.isArray(r) ? r.map(Number) : []));
};
const close = (a: number[][], b: number[][]) => a.forEach((r, i) => r.forEach((v, j) => assert.ok(Math.abs(v - (b[i]?.[j] ?? Number.NaN)) < 1e-6, `[${i}][${j}] ${v} vs ${b[i]?.[j]}`)));

describe('distribution alignment', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('multiplies rows by prior / marginal and renormalises; a marginal equal to the prior changes nothing', () => {
    const probs = tf.tensor2d([[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]);
    const uniform = tf.tensor1d([1 / 3, 1 / 3, 1 / 3]);
    const skewed = tf.tensor1d([0.5, 0.25, 0.25]);
    close(rows(alignDistribution(probs, uniform, uniform)), [[0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]);
    close(rows(alignDistribution(probs, uniform, skewed)), [[1 / 3, 1 / 3, 1 / 3], [0.1 / 0.9, 0.3 / 0.9, 0.5 / 0.9]]);
    assert.throws(() => alignDistribution(probs, tf.tensor1d([0.5, 0.5]), skewed), /3 classes/);
    tf.dispose([probs, uniform, skewed]);
  });

  it('ClassMarginal follows a model that over-predicts a class and shifts ambiguous rows away from it, leaking nothing', () => {
    const before = tf.memory().numTensors;
    const marginal = new ClassMarginal(2, 0.5);
    const ambiguous = tf.tensor2d([[0.55, 0.45]]);
    close(rows(marginal.align(ambiguous)), [[0.55, 0.45]]);
    const biased = tf.tensor2d([[0.9, 0.1], [0.8, 0.2]]);
    for (let i = 0; i < 5; i++) tf.dispose(marginal.align(biased));
    const [[a = 0, b = 0] = []] = rows(marginal.align(ambiguous));
    assert.ok(b > a, `after over-predicting class 0, the ambiguous row favours class 1: ${a} vs ${b}`);
    tf.dispose([ambiguous, biased]);
    marginal.dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
