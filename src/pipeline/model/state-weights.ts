/**
 * The weights a training step can change: every weight of every trainable layer. That is the
 * optimizer's trainable weights plus the moving mean and variance of trainable BatchNorm layers,
 * which training updates as a side effect. Early stopping keeps these, checkpoints save them, and a
 * restore writes them all back, so a restored BN normalises with the statistics of its best epoch.
 * Layer-scoped names (`block7a_bn/moving_mean`) are stable across processes.
 */
import type * as tf from '@tensorflow/tfjs';

export function stateWeights(model: tf.LayersModel): tf.LayerVariable[] {
  const seen = new Set<string>();
  const out: tf.LayerVariable[] = [];
  for (const layer of model.layers) {
    if (!layer.trainable) continue;
    for (const w of layer.weights) {
      if (seen.has(w.originalName)) continue;
      seen.add(w.originalName);
      out.push(w);
    }
  }
  return out;
}
