/**
 * foldBatchNorm's arithmetic on hand-sized kernels: the BN scale γ/√(var + ε) with the layer's own
 * epsilon, applied per output channel on the right kernel axis (Conv2D: the last; depthwise
 * [kh, kw, C, M]: output channel c·M + m), and the bias (b − mean)·s + β.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bnScale, foldBatchNorm, outputChannels } from '../../../../src/pipeline/model/infer/fold.js';

const f32 = (xs: number[]) => Float32Array.from(xs);
const close = (a: ArrayLike<number>, b: ArrayLike<number>, what: string) => {
  assert.equal(a.length, b.length, what);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)) <= 1e-6 * Math.max(1, Math.abs(b[i] ?? 0)), `${what}[${i}]: ${a[i]} vs ${b[i]}`);
};

describe('foldBatchNorm', () => {
  // variances comparable to epsilon: a fold with another epsilon gives visibly other numbers
  const bn = { gamma: f32([2, 0.5]), beta: f32([0.1, -0.3]), movingMean: f32([1, -2]), movingVariance: f32([0.3, 0.05]), epsilon: 0.2 };
  const s0 = 2 / Math.sqrt(0.5);
  const s1 = 0.5 / Math.sqrt(0.25);

  it('uses the layer epsilon: s = gamma / sqrt(var + eps)', () => {
    close(bnScale(bn), [s0, s1], 'scale');
    const other = bnScale({ ...bn, epsilon: 1e-3 });
    assert.ok(Math.abs((other[1] ?? 0) - s1) > 0.5, 'epsilon 1e-3 would give another scale');
  });

  it('Conv2D [kh, kw, in, out]: the output channel is the last axis; bias (b - mean)·s + beta', () => {
    // 1×1 kernel, 3 inputs, 2 outputs: entries in order (in0,out0) (in0,out1) (in1,out0) ...
    const kernel = f32([1, 2, 3, 4, 5, 6]);
    const folded = foldBatchNorm(kernel, [1, 1, 3, 2], f32([0.5, 1]), bn, 'conv2d');
    close(folded.kernel, [1 * s0, 2 * s1, 3 * s0, 4 * s1, 5 * s0, 6 * s1], 'kernel');
    close(folded.bias, [(0.5 - 1) * s0 + 0.1, (1 + 2) * s1 - 0.3], 'bias');
  });

  it('Conv2D without bias: the bias is -mean·s + beta', () => {
    const folded = foldBatchNorm(f32([1, 1]), [1, 1, 1, 2], undefined, bn, 'conv2d');
    close(folded.bias, [-1 * s0 + 0.1, 2 * s1 - 0.3], 'bias');
  });

  it('DepthwiseConv2D [kh, kw, C, M]: output channel c·M + m, not c and not m', () => {
    assert.equal(outputChannels([3, 3, 2, 1], 'depthwise'), 2);
    assert.equal(outputChannels([3, 3, 2, 3], 'depthwise'), 6);
    // C = 1, M = 2: both output channels come from input channel 0; a fold by c alone would scale both by s[0]
    const folded = foldBatchNorm(f32([1, 1]), [1, 1, 1, 2], undefined, bn, 'depthwise');
    close(folded.kernel, [s0, s1], 'kernel (C=1, M=2)');
    // C = 2, M = 1 with a 2×1 spatial kernel: entries (h0,c0) (h0,c1) (h1,c0) (h1,c1)
    const folded2 = foldBatchNorm(f32([1, 2, 3, 4]), [2, 1, 2, 1], undefined, bn, 'depthwise');
    close(folded2.kernel, [1 * s0, 2 * s1, 3 * s0, 4 * s1], 'kernel (C=2, M=1)');
  });

  it('refuses BatchNorm values whose channel count is not the conv output channels', () => {
    assert.throws(() => foldBatchNorm(f32([1, 2, 3, 4, 5, 6]), [1, 1, 2, 3], undefined, bn, 'conv2d'), { code: 'ERR_INTERNAL' });
    assert.throws(() => foldBatchNorm(f32([1, 2]), [1, 1, 2, 1], undefined, { ...bn, gamma: f32([1]) }, 'depthwise'), { code: 'ERR_INTERNAL' });
  });
});
