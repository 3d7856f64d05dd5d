/**
 * Builds the classifier as one graph (functional) model: input → the backbone (layer for layer like
 * keras.applications, include_top=False) → a new head. The head is the seed's Flatten → Dense(ReLU)
 * → Dropout → Dense(softmax), or, for graph backbones by default, global average pooling in place of
 * the Flatten. Every layer is a direct member of the model, so each layer's `trainable` flag is its
 * own (a nested base model would lose it: see shared notes), and blocks map to layer ranges.
 */
import * as tf from '@tensorflow/tfjs';
import { chooseHeadSolver, type HeadSolverParams } from '../params/head-solver.js';
import type { BackboneSpec } from './backbones.js';
import { StepDropout } from './dropout.js';
import { apply, seededContext } from './spec.js';

export type HeadKind = 'flatten' | 'pooled' | 'linear';

export interface HeadOptions {
  readonly numClasses: number;
  readonly denseUnits: number;
  readonly dropout: number;
  readonly seed: number;
  /** Default: the backbone's own (`spec.head`). */
  readonly head?: HeadKind;
}

/** The head's layer names, in order (the pooled head's first layer is `avg_pool`, as Keras names it). */
export const HEAD_LAYERS = {
  flatten: ['flatten', 'fc1', 'dropout', 'predictions'],
  pooled: ['avg_pool', 'fc1', 'dropout', 'predictions'],
  linear: ['avg_pool', 'predictions'],
} as const;

export function headLayers(options: HeadOptions & { readonly head: HeadKind }): tf.layers.Layer[] {
  const predictions = tf.layers.dense({ name: 'predictions', units: options.numClasses, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1003 }) });
  // the linear probe's head: pooled features straight into the softmax layer
  if (options.head === 'linear') return [tf.layers.globalAveragePooling2d({ name: 'avg_pool' }), predictions];
  return [
    options.head === 'pooled' ? tf.layers.globalAveragePooling2d({ name: 'avg_pool' }) : tf.layers.flatten({ name: 'flatten' }),
    tf.layers.dense({ name: 'fc1', units: options.denseUnits, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1001 }) }),
    new StepDropout({ name: 'dropout', rate: options.dropout, seed: options.seed + 1002 }),
    predictions,
  ];
}

/** The head a run uses: the `head` parameter; for `auto`, linear when the head is solved (ridge), else the backbone's own. */
export function headOf(params: HeadSolverParams, spec: BackboneSpec): HeadKind {
  if (params.head !== 'auto') return params.head;
  return chooseHeadSolver(params, spec).solver === 'ridge' ? 'linear' : spec.head;
}

/** The backbone alone (input → last feature map), e.g. for features of the frozen base. */
export function buildBackbone(spec: BackboneSpec, inputSize: number, seed: number): tf.LayersModel {
  const input = tf.input({ name: 'input', shape: [inputSize, inputSize, spec.inputChannels] });
  return tf.model({ inputs: input, outputs: spec.build(input, seededContext(seed)), name: spec.name });
}

export function buildClassifier(spec: BackboneSpec, inputSize: number, options: HeadOptions): tf.LayersModel {
  const input = tf.input({ name: 'input', shape: [inputSize, inputSize, spec.inputChannels] });
  let x = spec.build(input, seededContext(options.seed));
  for (const layer of headLayers({ ...options, head: options.head ?? spec.head })) x = apply(layer, x);
  return tf.model({ inputs: input, outputs: x, name: `${spec.name}_transfer` });
}

/** The backbone's layers in network order (input layer and head excluded), each with its block. */
export function backboneLayers(model: tf.LayersModel, spec: BackboneSpec): Array<{ readonly layer: tf.layers.Layer; readonly block: string }> {
  const out: Array<{ layer: tf.layers.Layer; block: string }> = [];
  let b = 0;
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const block = spec.blocks[b];
    if (block === undefined) break;
    out.push({ layer, block: block.name });
    if (layer.name === block.end) b++;
  }
  if (b !== spec.blocks.length) throw new Error(`backbone ${spec.name}: block ${spec.blocks[b]?.name ?? '?'} ends at ${spec.blocks[b]?.end ?? '?'}, which the model does not have`);
  return out;
}
