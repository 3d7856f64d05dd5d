/** The lean Step kernel (ReLU's derivative) against tfjs-node's own, on the native backend. */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/pipeline/backend.js';
import { nativeStep } from '../../src/pipeline/lean-step-kernel.js';

/** tfjs-node's Step kernel run directly, as it was before initBackend replaced it. */
function nativeStepValues(x: tf.Tensor, alpha: number): number[] {
  const kernel = nativeStep();
  assert.ok(kernel !== undefined, 'initBackend did not install the lean Step kernel');
  const out = kernel.kernelFunc({ inputs: { x }, backend: tf.backend(), attrs: { alpha } });
  assert.ok(out instanceof tf.Tensor, 'the native kernel returned no tensor');
  const values = Array.from(out.dataSync());
  out.dispose();
  return values;
}

// NaN, signed zeros, infinities, denormals, and ordinary values
const EDGES = [Number.NaN, -1, 0, -0, 2, Infinity, -Infinity, 1e-40, -1e-40, 3.5e-38, 1e-7, -1e-7];
const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]) || (v === 0 && b[i] === 0));

describe('lean Step kernel', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  it("gives tfjs-node's step values on edge cases, and on random values", () => {
    const edges = tf.tensor1d(EDGES);
    assert.ok(same(Array.from(tf.step(edges).dataSync()), nativeStepValues(edges, 0)), `${String(tf.step(edges).dataSync())} vs ${String(nativeStepValues(edges, 0))}`);
    const random = tf.randomNormal([4, 7, 7, 3], 0, 1, 'float32', 5);
    assert.ok(same(Array.from(tf.step(random).dataSync()), nativeStepValues(random, 0)));
    // the values themselves: 1 for positive (and +∞), 0 for the rest, NaN kept
    assert.deepEqual(Array.from(tf.step(tf.tensor1d([Number.NaN, 3, -3, 0])).dataSync()).map(String), ['NaN', '1', '0', '0']);
  });

  it('leaves alpha ≠ 0 and integer inputs to the native kernel as they were', () => {
    const x = tf.tensor1d(EDGES);
    assert.ok(same(Array.from(tf.step(x, 0.3).dataSync()), nativeStepValues(x, 0.3)));
    assert.deepEqual(Array.from(tf.step(x, 0.3).dataSync()).slice(1, 3), [Math.fround(0.3), Math.fround(0.3)]);
    // tfjs-node's kernel refuses int32 (TensorFlow's IsNan takes floats only), and still does
    assert.throws(() => tf.step(tf.tensor1d([-2, 0, 5], 'int32')), /IsNan/);
  });

  it("gives ReLU's gradient, plain and inside a fused conv, with fewer ops", async () => {
    const x = tf.randomNormal<tf.Rank.R4>([2, 6, 6, 3], 0, 1, 'float32', 9);
    const filter = tf.randomNormal<tf.Rank.R4>([3, 3, 3, 4], 0, 1, 'float32', 10);
    const bias = tf.randomNormal([4], 0, 1, 'float32', 11);
    const relu = (t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), tf.range(1, t.size + 1).reshape(t.shape)));
    const dRelu = tf.grad(relu)(x);
    const expected = tf.mul(tf.range(1, x.size + 1).reshape(x.shape), tf.cast(tf.greater(x, 0), 'float32'));
    assert.deepEqual(Array.from(dRelu.dataSync()), Array.from(expected.dataSync()));
    // fused conv + bias + relu: its filter gradient equals the unfused ops' (which take Relu's own gradient)
    const kernelOf = (f: tf.Tensor) => tf.reshape<tf.Rank.R4>(f, [3, 3, 3, 4]);
    const fused = (f: tf.Tensor) => tf.sum(tf.fused.conv2d({ x, filter: kernelOf(f), bias, activation: 'relu', pad: 'same', strides: 1 }));
    const plain = (f: tf.Tensor) => tf.sum(tf.relu(tf.add(tf.conv2d(x, kernelOf(f), 1, 'same'), bias)));
    const a = tf.grad(fused)(filter).dataSync();
    const b = tf.grad(plain)(filter).dataSync();
    assert.ok(a.every((v, i) => Math.abs(v - (b[i] ?? Number.NaN)) < 1e-4), 'fused and plain conv gradients differ');
    const kernels = (await tf.profile(() => tf.step(x))).kernels.length;
    assert.ok(kernels <= 3, `tf.step dispatched ${kernels} kernels (tfjs-node's own dispatches 7)`);
  });
});
