/**
 * The exported model takes raw RGB pixels: a `preprocess` layer in front of the trained classifier
 * does the backbone's preprocessing (channel order, scale, offset) inside the graph. It is a frozen
 * 1×1 Conv2D whose kernel is a (permuted) diagonal and whose bias is the offset: a standard layer that
 * tfjs and Python Keras both load, and exact (each output channel is one input channel times its scale
 * plus the offset). The classifier's own layers are shared, not copied.
 */
import * as tf from '@tensorflow/tfjs';
import { mappedOutput, reapply } from '../model/graph.js';
import type { Preprocessing } from '../model/spec.js';

export const PREPROCESS_LAYER = 'preprocess';
export const PIXELS_INPUT = 'pixels';

/** Kernel [1, 1, 3 in, 3 out] and bias of the preprocessing as a 1×1 convolution. */
export function preprocessingKernel(p: Preprocessing): { kernel: number[]; bias: number[] } {
  const kernel = new Array<number>(9).fill(0);
  p.scale.forEach((scale, out) => {
    const from = p.channels === 'bgr' ? 2 - out : out; // BGR output channel `out` reads RGB channel 2 - out
    kernel[from * 3 + out] = scale;
  });
  return { kernel, bias: [...p.offset] };
}

export interface WithPreprocessing {
  /** Pixels → the classifier's output; shares the classifier's layers. */
  readonly model: tf.LayersModel;
  /** Frees the preprocess layer; the shared layers' weights stay (they belong to the classifier). */
  dispose(): void;
}

export function withPreprocessing(model: tf.LayersModel, p: Preprocessing): WithPreprocessing {
  const input = model.inputs[0];
  if (input === undefined || model.inputs.length !== 1) throw new Error(`${model.name} must have one input`);
  const shape = input.shape.slice(1);
  const pixels = tf.input({ name: PIXELS_INPUT, shape: shape.map((d) => d ?? -1) });
  const layer = tf.layers.conv2d({ name: PREPROCESS_LAYER, filters: 3, kernelSize: 1, useBias: true, trainable: false });
  const pre = layer.apply(pixels);
  if (!(pre instanceof tf.SymbolicTensor)) throw new Error('preprocess layer did not give one output');
  const { kernel, bias } = preprocessingKernel(p);
  tf.tidy(() => layer.setWeights([tf.tensor4d(kernel, [1, 1, 3, 3]), tf.tensor1d(bias)]));
  const mapped = new Map<number, tf.SymbolicTensor>([[input.id, pre]]);
  reapply(model.layers.filter((l) => l.getClassName() !== 'InputLayer'), mapped);
  const wrapped = tf.model({ inputs: pixels, outputs: mappedOutput(model, mapped), name: model.name });
  // tfjs-layers counts every apply: disposing the wrapper frees the preprocess layer and takes back
  // the re-applied layers' counts, so the classifier's own dispose still frees their weights.
  return { model: wrapped, dispose: () => void wrapped.dispose() };
}
