/**
 * Splits the classifier at the freeze boundary: a frozen prefix (everything before the first layer
 * that trains) and the trainable suffix. Both share the classifier's layer objects, so training the
 * suffix trains the classifier, and exporting the classifier exports what was trained.
 */
import * as tf from '@tensorflow/tfjs';
import type { FreezePlan } from '../model/freeze.js';

export interface SplitModel {
  /** Input image → activations at the cut. Frozen: never trained. */
  readonly prefix: tf.LayersModel;
  /** Activations at the cut → class probabilities. */
  readonly suffix: tf.LayersModel;
  /** The last frozen layer, whose output is cached. */
  readonly cutAfter: string;
  /** Shape of one example's activations at the cut. */
  readonly featureShape: readonly number[];
}

/** The split, or undefined when nothing before the first trainable layer is frozen. */
export function splitAtFreeze(model: tf.LayersModel, plan: FreezePlan): SplitModel | undefined {
  const layers = model.layers;
  const firstTrainable = plan.trainableConv[0] ?? 'flatten';
  const cut = layers.findIndex((l) => l.name === firstTrainable);
  if (cut <= 0) return undefined;
  const last = layers[cut - 1];
  if (last === undefined || last.getClassName() === 'InputLayer') return undefined;
  const output = last.output;
  if (Array.isArray(output)) throw new Error(`layer ${last.name} has several outputs; cannot cut there`);
  const prefix = tf.model({ inputs: model.inputs, outputs: output, name: `${model.name}_frozen_prefix` });
  const featureShape = output.shape.slice(1).map((d) => {
    if (d === null) throw new Error(`layer ${last.name} has an unknown output dimension`);
    return d;
  });
  const input = tf.input({ shape: featureShape, name: 'cached_activations' });
  let x: tf.SymbolicTensor = input;
  for (const layer of layers.slice(cut)) {
    const y = layer.apply(x);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error(`layer ${layer.name} did not give one symbolic output`);
    x = y;
  }
  const suffix = tf.model({ inputs: input, outputs: x, name: `${model.name}_trainable_suffix` });
  return { prefix, suffix, cutAfter: last.name, featureShape };
}
