import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { coralLoss, covariance } from '../../../src/pipeline/adapt/coral.js';

const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] ?? Number.NaN;
  t.dispose();
  return v;
};

/** Unbiased covariance and the CORAL loss in plain JS (float64), as the reference. */
function referenceCoral(s: number[][], t: number[][]): number {
  const cov = (x: number[][]): number[][] => {
    const n = x.length;
    const d = x[0]?.length ?? 0;
    const mean = Array.from({ length: d }, (_, j) => x.reduce((a, r) => a + (r[j] ?? 0), 0) / n);
    return Array.from({ length: d }, (_, a) =>
      Array.from({ length: d }, (_, b) => x.reduce((acc, r) => acc + ((r[a] ?? 0) - (mean[a] ?? 0)) * ((r[b] ?? 0) - (mean[b] ?? 0)), 0) / (n - 1)),
    );
  };
  const cs = cov(s);
  const ct = cov(t);
  const d = cs.length;
  let sum = 0;
  for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) sum += ((cs[a]?.[b] ?? 0) - (ct[a]?.[b] ?? 0)) ** 2;
  return sum / (4 * d * d);
}

describe('CORAL', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));
  const S = [[1, 2, 0], [3, 1, 1], [0, 0, 2], [2, 5, 1], [1, 1, 1]];
  const T = [[2, 0, 1], [0, 3, 3], [4, 1, 0], [1, 1, 5]];

  it('covariance is the unbiased sample covariance', () => {
    const x = tf.tensor2d([[1, 2], [3, 6], [5, 7]]);
    const c = covariance(x);
    // means 3, 5; deviations (−2,−3), (0,1), (2,2): Σ = [[8, 10], [10, 14]] / 2
    assert.deepEqual(Array.from(c.dataSync()), [4, 5, 5, 7]);
    tf.dispose([x, c]);
  });

  it('matches ‖C_s − C_t‖²_F / (4d²) computed by hand, with different batch sizes', () => {
    const expected = referenceCoral(S, T);
    assert.ok(expected > 0);
    const got = scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.tensor2d(T))));
    assert.ok(Math.abs(got - expected) < 1e-5 * expected, `${got} vs ${expected}`);
  });

  it('is zero for identical statistics: the same batch, or its rows reordered', () => {
    assert.equal(scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.tensor2d(S)))), 0);
    const permuted = [S[3], S[0], S[4], S[2], S[1]].map((r) => r ?? []);
    assert.ok(scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.tensor2d(permuted)))) < 1e-10);
  });

  it('is positive for different covariances and grows with the difference', () => {
    const a = scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.mul(tf.tensor2d(S), 1.5))));
    const b = scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.mul(tf.tensor2d(S), 3))));
    assert.ok(a > 0 && b > a, `${a}, ${b}`);
  });

  it('is invariant to a mean shift of either domain', () => {
    const base = scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.tensor2d(T))));
    const shifted = scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.add(tf.tensor2d(T), tf.tensor1d([10, -4, 7])))));
    assert.ok(Math.abs(shifted - base) < 1e-4 * base, `${shifted} vs ${base}`);
    assert.ok(scalar(tf.tidy(() => coralLoss(tf.tensor2d(S), tf.add(tf.tensor2d(S), 5)))) < 1e-9);
  });

  it('is differentiable: tf.grad matches central finite differences, and is zero at equal statistics', () => {
    const target = tf.tensor2d(T);
    const source = tf.tensor2d(S);
    const g = tf.tidy(() => tf.grad((s: tf.Tensor) => coralLoss(s, target))(source));
    const analytic = Array.from(g.dataSync());
    assert.ok(analytic.every(Number.isFinite) && analytic.some((v) => Math.abs(v) > 1e-4));
    const h = 1e-3;
    S.forEach((row, i) => row.forEach((_, j) => {
      const at = (delta: number) => referenceCoral(S.map((r, a) => r.map((v, b) => (a === i && b === j ? v + delta : v))), T);
      const numeric = (at(h) - at(-h)) / (2 * h);
      const k = i * row.length + j;
      assert.ok(Math.abs((analytic[k] ?? Number.NaN) - numeric) < 1e-3 + 1e-2 * Math.abs(numeric), `[${i}, ${j}]: ${analytic[k]} vs ${numeric}`);
    }));
    const gTarget = tf.tidy(() => tf.grad((t: tf.Tensor) => coralLoss(source, t))(target));
    assert.ok(Array.from(gTarget.dataSync()).some((v) => Math.abs(v) > 1e-4), 'the target side gets a gradient too');
    const atEqual = tf.tidy(() => tf.grad((s: tf.Tensor) => coralLoss(s, source))(source));
    assert.ok(Array.from(atEqual.dataSync()).every((v) => Math.abs(v) < 1e-6));
    tf.dispose([target, source, g, gTarget, atEqual]);
  });

  it('flattens conv feature maps and leaks no tensors', () => {
    const before = tf.memory().numTensors;
    const s = tf.randomNormal([6, 2, 2, 3], 0, 1, 'float32', 1);
    const t = tf.randomNormal([5, 2, 2, 3], 0, 2, 'float32', 2);
    const loss = coralLoss(s, t);
    assert.deepEqual(loss.shape, []);
    assert.ok((loss.dataSync()[0] ?? 0) > 0);
    tf.dispose([s, t, loss]);
    assert.equal(tf.memory().numTensors, before);
  });

  it('rejects too-small batches and mismatched feature sizes', () => {
    tf.tidy(() => {
      assert.throws(() => coralLoss(tf.zeros([1, 3]), tf.zeros([4, 3])), /at least 2 examples/);
      assert.throws(() => coralLoss(tf.zeros([4, 3]), tf.zeros([4, 2])), /differ in size: 3 vs 2/);
      assert.throws(() => coralLoss(tf.zeros([4]), tf.zeros([4])), /batch axis/);
    });
  });
});
