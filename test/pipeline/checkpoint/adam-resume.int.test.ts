/**
 * A model restored from a checkpoint takes the next Adam step exactly as the model that never
 * stopped: tfjs's Adam recomputes β1ᵗ and β2ᵗ with pow() in setWeights, while training keeps them as
 * running float32 products; checkpoint/tensors.ts writes the products back.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { restoreTensors, snapshotTensors } from '../../../src/pipeline/checkpoint/tensors.js';

function model(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [4], units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }), name: 'out' })] });
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy' });
  return m;
}

const x = tf.tensor2d([[1, 0.5, -1, 2], [0, 1, 1, -0.5], [2, -1, 0, 1]]);
const y = tf.tensor2d([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

describe('Adam state restored from a checkpoint', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  for (const steps of [13, 29, 57]) {
    it(`after ${steps} steps, the next step equals the uninterrupted model's bit for bit`, async () => {
      const running = model();
      for (let i = 0; i < steps; i++) await running.trainOnBatch(x, y);
      const saved = await snapshotTensors(running, undefined);
      const restored = model();
      await restoreTensors(restored, saved);
      await running.trainOnBatch(x, y);
      await restored.trainOnBatch(x, y);
      assert.deepEqual(weightsOf(restored), weightsOf(running));
      running.optimizer.dispose();
      restored.optimizer.dispose();
      running.dispose();
      restored.dispose();
    });
  }
});
