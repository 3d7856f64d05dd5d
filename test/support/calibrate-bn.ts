/**
 * Random BatchNorm values that keep a deep random network's output tied to its input: one pass over
 * `x` in inference mode, layer by layer, setting each BatchNormalization from the statistics of its own
 * input (gamma in [0.5, 1.5], beta ~ N(0, 0.2), the mean moved by ~0.1 standard deviations, the variance
 * floored at 1% of its mean and scaled by [0.8, 1.25]), as test/support/keras-backbones.py does in Keras.
 * Identity BatchNorms (the initial values) would hide a wrong fold; arbitrary ones make the network
 * forget its input or amplify rounding chaotically.
 */
import * as tf from '@tensorflow/tfjs';
import { inputsOf, outputOf } from '../../src/pipeline/model/graph.js';
import { FreezableBatchNorm } from '../../src/pipeline/model/layers/batch-norm.js';

export function calibrateBatchNorms(model: tf.LayersModel, x: tf.Tensor, seed: number): number {
  let s = seed;
  let count = 0;
  tf.tidy(() => {
    const input = model.inputs[0];
    if (input === undefined) throw new Error('no input');
    const live = new Map<number, tf.Tensor>([[input.id, x]]);
    for (const layer of model.layers) {
      if (layer.getClassName() === 'InputLayer') continue;
      const ins = inputsOf(layer).map((t) => {
        const v = live.get(t.id);
        if (v === undefined) throw new Error(`${layer.name} reads an uncomputed tensor`);
        return v;
      });
      const first = ins[0];
      if (layer instanceof FreezableBatchNorm && first !== undefined) {
        const c = first.shape.at(-1) ?? 0;
        const { mean, variance } = tf.moments(first, [0, 1, 2]);
        const floored = tf.maximum(variance, tf.mul(tf.mean(variance), 0.01));
        layer.setWeights([
          tf.randomUniform([c], 0.5, 1.5, 'float32', s++),
          tf.randomNormal([c], 0, 0.2, 'float32', s++),
          tf.add(mean, tf.mul(tf.randomNormal([c], 0, 0.1, 'float32', s++), tf.sqrt(floored))),
          tf.mul(floored, tf.randomUniform([c], 0.8, 1.25, 'float32', s++)),
        ]);
        count++;
      }
      const y = layer.call(ins.length === 1 && first !== undefined ? first : ins, { training: false });
      if (Array.isArray(y)) throw new Error(`${layer.name}: several outputs`);
      live.set(outputOf(layer).id, y);
    }
  });
  return count;
}
