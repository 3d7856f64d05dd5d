/**
 * L2-SP (Li, Grandvalet & Davoine, 2018): while backbone layers train, the loss gains
 *   (α / 2) · Σ ‖w − w⁰‖²
 * over the backbone's trainable weights, w⁰ being their values when the phase starts (the
 * pretrained weights, or the source model's), so fine-tuning stays near what was transferred
 * instead of near zero as plain weight decay would pull. The term is added as a layer loss, which
 * tfjs-layers adds to the training loss of every `trainOnBatch` (the logged training loss includes
 * it; validation and test losses do not). Frozen layers contribute nothing. The head is not pulled.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackboneSpec } from '../model/backbones.js';
import { backboneLayers } from '../model/build.js';

export interface Anchor {
  /** Removes the term from the layers and frees the starting values. */
  dispose(): void;
}

type LossFn = () => tf.Scalar;

export function anchorToStart(model: tf.LayersModel, spec: BackboneSpec, weight: number): Anchor {
  const added: Array<{ readonly layer: tf.layers.Layer; readonly fn: LossFn; readonly start: tf.Tensor[] }> = [];
  for (const { layer } of backboneLayers(model, spec)) {
    const weights = layer.weights.filter((w) => w.trainable);
    if (weights.length === 0) continue;
    const start = weights.map((w) => tf.keep(tf.clone(w.read())));
    const fn: LossFn = () =>
      tf.tidy(() => {
        if (!layer.trainable) return tf.scalar(0);
        const squares = weights.map((w, i) => tf.sum(tf.square(tf.sub(w.read(), start[i] ?? w.read()))));
        return tf.mul(tf.addN(squares), weight / 2);
      });
    layer.addLoss(fn);
    added.push({ layer, fn, start });
  }
  return {
    dispose: () => {
      for (const { layer, fn, start } of added) {
        const i = layer.losses.indexOf(fn);
        if (i >= 0) layer.losses.splice(i, 1);
        tf.dispose(start);
      }
    },
  };
}
