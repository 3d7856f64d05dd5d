/**
 * Folding an inference-mode BatchNormalization into the convolution before it. BN computes
 * y = (z - mean) · γ/√(var + ε) + β per output channel; with z = conv(x, w) + b that is
 * conv(x, w·s) + (b - mean)·s + β, s = γ/√(var + ε). The new kernel and bias are computed in float64
 * and rounded once to float32.
 *
 * Kernel layouts (tfjs, as Keras): Conv2D [kh, kw, in, out], the output channel on the last axis;
 * DepthwiseConv2D [kh, kw, C, M], output channel c·M + m, so the scale of output channel o multiplies
 * kernel entries whose (c, m) pair is o: axes 2 and 3 together, never axis 3 alone.
 */
import { InternalError } from '../../../errors.js';

export interface BatchNormValues {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly movingMean: Float32Array;
  readonly movingVariance: Float32Array;
  /** The layer's own epsilon (MobileNetV2/EfficientNet 1e-3, ResNet50 1.001e-5). */
  readonly epsilon: number;
}

export type ConvKind = 'conv2d' | 'depthwise';

export interface FoldedConv {
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}


/** Output channels of a kernel of `shape` ([kh, kw, in, out] or depthwise [kh, kw, C, M]). */
export function outputChannels(shape: readonly number[], kind: ConvKind): number {
  const [, , a, b] = shape;
  if (shape.length !== 4 || a === undefined || b === undefined) throw new InternalError(`a conv kernel has rank 4, got shape [${shape.join(', ')}]`);
  return kind === 'conv2d' ? b : a * b;
}

/** s = γ/√(var + ε) per channel, in float64. */
export function bnScale(bn: BatchNormValues): Float64Array {
  const s = new Float64Array(bn.gamma.length);
  for (let c = 0; c < s.length; c++) s[c] = (bn.gamma[c] ?? Number.NaN) / Math.sqrt((bn.movingVariance[c] ?? Number.NaN) + bn.epsilon);
  return s;
}

/**
 * The kernel and bias of conv → BN as one conv. `bias` undefined: the conv has none. Both kernel
 * layouts put the output channel index on the innermost axes: entry i of the kernel belongs to
 * output channel i mod (number of output channels).
 */
export function foldBatchNorm(kernel: Float32Array, shape: readonly number[], bias: Float32Array | undefined, bn: BatchNormValues, kind: ConvKind): FoldedConv {
  const channels = outputChannels(shape, kind);
  const size = shape.reduce((a, b) => a * b, 1);
  if (kernel.length !== size) throw new InternalError(`kernel has ${kernel.length} values, shape [${shape.join(', ')}] needs ${size}`);
  for (const [name, v] of [['gamma', bn.gamma], ['beta', bn.beta], ['moving_mean', bn.movingMean], ['moving_variance', bn.movingVariance], ['bias', bias]] as const) {
    if (v !== undefined && v.length !== channels) throw new InternalError(`BatchNorm ${name} has ${v.length} channels, the conv gives ${channels}`);
  }
  const s = bnScale(bn);
  const folded = new Float32Array(size);
  for (let i = 0; i < size; i++) folded[i] = (kernel[i] ?? Number.NaN) * (s[i % channels] ?? Number.NaN);
  const b = new Float32Array(channels);
  for (let c = 0; c < channels; c++) b[c] = ((bias?.[c] ?? 0) - (bn.movingMean[c] ?? Number.NaN)) * (s[c] ?? Number.NaN) + (bn.beta[c] ?? Number.NaN);
  return { kernel: folded, bias: b };
}
