/**
 * Layer builders shared by the graph backbones (MobileNetV2, ResNet, EfficientNet), each making one
 * layer as keras.applications does: same class, name, options and weight order, so official `.h5`
 * files load by layer name. Every BatchNormalization is a FreezableBatchNorm (tfjs's own ignores
 * `trainable`: see layers/batch-norm.ts), and every initializer takes a seed from the build context
 * so the same run seed builds the same random weights.
 */
import * as tf from '@tensorflow/tfjs';
import { FreezableBatchNorm } from '../layers/batch-norm.js';
import { apply, type BuildContext } from '../spec.js';

export type Activation = 'relu' | 'relu6' | 'swish' | 'sigmoid' | 'linear';

/** How a conv's kernel starts when no pretrained weights are loaded (Keras's default per network). */
export type KernelInit = 'glorot' | 'fanOut';

function initializer(init: KernelInit, ctx: BuildContext): ReturnType<typeof tf.initializers.glorotUniform> {
  const seed = ctx.nextSeed();
  // EfficientNet's CONV_KERNEL_INITIALIZER: VarianceScaling(2.0, fan_out, truncated_normal).
  if (init === 'fanOut') return tf.initializers.varianceScaling({ scale: 2, mode: 'fanOut', distribution: 'truncatedNormal', seed });
  return tf.initializers.glorotUniform({ seed });
}

export interface ConvArgs {
  readonly name: string;
  readonly filters: number;
  readonly kernel: number;
  readonly strides?: number;
  readonly padding?: 'same' | 'valid';
  readonly useBias?: boolean;
  readonly activation?: Activation;
  readonly init?: KernelInit;
}

export function conv(x: tf.SymbolicTensor, a: ConvArgs, ctx: BuildContext): tf.SymbolicTensor {
  return apply(tf.layers.conv2d({
    name: a.name,
    filters: a.filters,
    kernelSize: a.kernel,
    strides: a.strides ?? 1,
    padding: a.padding ?? 'valid',
    useBias: a.useBias ?? true,
    activation: a.activation ?? 'linear',
    kernelInitializer: initializer(a.init ?? 'glorot', ctx),
  }), x);
}

export interface DepthwiseArgs {
  readonly name: string;
  readonly kernel: number;
  readonly strides: number;
  readonly padding: 'same' | 'valid';
  readonly init?: KernelInit;
}

/** A bias-free depthwise conv (depth multiplier 1), as MobileNetV2 and EfficientNet use them. */
export function depthwise(x: tf.SymbolicTensor, a: DepthwiseArgs, ctx: BuildContext): tf.SymbolicTensor {
  return apply(tf.layers.depthwiseConv2d({
    name: a.name,
    kernelSize: a.kernel,
    strides: a.strides,
    padding: a.padding,
    useBias: false,
    depthwiseInitializer: initializer(a.init ?? 'glorot', ctx),
  }), x);
}

export function batchNorm(x: tf.SymbolicTensor, name: string, epsilon: number, momentum: number): tf.SymbolicTensor {
  return apply(new FreezableBatchNorm({ name, epsilon, momentum }), x);
}

/** Keras's `Activation(name)` layer (ResNet's `_relu`, EfficientNet's `_activation`). */
export function activation(x: tf.SymbolicTensor, name: string, fn: Activation): tf.SymbolicTensor {
  return apply(tf.layers.activation({ name, activation: fn }), x);
}

/** Keras's `ReLU(6.)` layer (MobileNetV2). */
export function relu6(x: tf.SymbolicTensor, name: string): tf.SymbolicTensor {
  return apply(tf.layers.reLU({ name, maxValue: 6 }), x);
}

export function zeroPad(x: tf.SymbolicTensor, name: string, padding: [[number, number], [number, number]]): tf.SymbolicTensor {
  return apply(tf.layers.zeroPadding2d({ name, padding }), x);
}

/**
 * keras.applications.imagenet_utils.correct_pad: the padding before a stride-2 'valid' conv that
 * centres the kernel as TF's 'SAME' does ((k//2 - 1, k//2) on even sides, (k//2, k//2) on odd ones;
 * an unknown side counts as even, as in Keras).
 */
export function correctPad(x: tf.SymbolicTensor, kernel: number): [[number, number], [number, number]] {
  const side = (d: number | null | undefined): [number, number] => {
    const adjust = typeof d === 'number' ? 1 - (d % 2) : 1;
    return [Math.floor(kernel / 2) - adjust, Math.floor(kernel / 2)];
  };
  return [side(x.shape[1]), side(x.shape[2])];
}

export function add(xs: tf.SymbolicTensor[], name: string): tf.SymbolicTensor {
  return apply(tf.layers.add({ name }), xs);
}
