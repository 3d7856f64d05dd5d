/**
 * Splits the classifier at the freeze boundary: a frozen prefix (input → the activations at the cut)
 * and the trainable suffix (those activations → class probabilities). Both share the classifier's
 * layer objects, so training the suffix trains the classifier, and exporting the classifier exports
 * what was trained.
 *
 * The cut is the latest point before the first layer that trains where one tensor carries
 * everything the rest of the graph needs: a block boundary, never inside a residual branch. Weightless
 * layers that follow the last frozen block (pooling, Flatten) go into the prefix, so with everything
 * frozen the cache holds the pooled features (1,280 values per image for EfficientNet, not 7×7×1,280).
 */
import * as tf from '@tensorflow/tfjs';
import { lastReaders, mappedOutput, outputOf, reapply } from '../model/graph.js';

export interface SplitModel {
  /** Input image → activations at the cut. Frozen: never trained. */
  readonly prefix: tf.LayersModel;
  /** Activations at the cut → class probabilities. */
  readonly suffix: tf.LayersModel;
  /** The last layer of the prefix, whose output is cached. */
  readonly cutAfter: string;
  /** Shape of one example's activations at the cut. */
  readonly featureShape: readonly number[];
  /**
   * Drops the suffix's hold on the shared layers. tfjs-layers counts every apply of a layer, and the
   * suffix re-applies the layers after the cut, so without this the classifier's dispose leaves their
   * weights behind (4 tensors per phase with the pooled head). The weights stay while the classifier lives.
   */
  release(): void;
}

/** True when the layer changes during training: it has weights and trains. */
function trains(layer: tf.layers.Layer): boolean {
  return layer.trainable && layer.weights.length > 0;
}

/**
 * Index of the layer after which the model can be cut, or -1. `layers` is in topological order (as
 * tfjs keeps a functional model's layers); a cut after layer p is valid when no later layer reads the
 * output of a layer before p.
 */
export function cutIndex(model: tf.LayersModel): number {
  const layers = model.layers;
  const lastReader = lastReaders(layers);
  const firstTraining = layers.findIndex(trains);
  const end = firstTraining === -1 ? layers.length - 1 : firstTraining - 1;
  let best = -1;
  let reach = -1; // the furthest reader of any output before p
  for (let p = 0; p <= end; p++) {
    if (reach <= p && layers[p]?.getClassName() !== 'InputLayer') best = p;
    reach = Math.max(reach, lastReader[p] ?? -1);
  }
  return best;
}

/** The split, or undefined when nothing before the first trainable layer can be cut off. */
export function splitAtFreeze(model: tf.LayersModel): SplitModel | undefined {
  const layers = model.layers;
  const cut = cutIndex(model);
  const last = layers[cut];
  if (cut < 0 || last === undefined || cut === layers.length - 1) return undefined;
  const output = outputOf(last);
  const prefix = tf.model({ inputs: model.inputs, outputs: output, name: `${model.name}_frozen_prefix` });
  const featureShape = output.shape.slice(1).map((d) => {
    if (d === null) throw new Error(`layer ${last.name} has an unknown output dimension`);
    return d;
  });
  const input = tf.input({ shape: featureShape, name: 'cached_activations' });
  // Re-apply the layers after the cut to the new input, following the classifier's own wiring.
  const mapped = new Map<number, tf.SymbolicTensor>([[output.id, input]]);
  reapply(layers.slice(cut + 1), mapped);
  const suffixOut = mappedOutput(model, mapped);
  const suffix = tf.model({ inputs: input, outputs: suffixOut, name: `${model.name}_trainable_suffix` });
  return { prefix, suffix, cutAfter: last.name, featureShape, release: () => void suffix.dispose() };
}
