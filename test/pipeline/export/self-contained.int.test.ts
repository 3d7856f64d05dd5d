/**
 * The exported model's first layer does the backbone's preprocessing: for every preprocessing in the
 * registry (BGR reorder, per-channel scale and offset), the `preprocess` 1×1 convolution gives what
 * the training pipeline's preprocess() gives on the same raw pixels.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { PREPROCESS_LAYER, withPreprocessing } from '../../../src/pipeline/export/self-contained.js';
import { preprocess } from '../../../src/pipeline/model/input.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';

describe('self-contained export: preprocessing in the graph', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  for (const p of Object.values(PREPROCESSING)) {
    it(`${p.name}: the preprocess layer equals the pipeline's preprocessing on raw pixels`, () => {
      const input = tf.input({ name: 'input', shape: [4, 4, 3] });
      const out = tf.layers.flatten({ name: 'flat' }).apply(input);
      assert.ok(out instanceof tf.SymbolicTensor);
      const identity = tf.model({ inputs: input, outputs: out });
      const wrapped = withPreprocessing(identity, p);
      assert.equal(wrapped.model.layers[1]?.name, PREPROCESS_LAYER);
      assert.equal(wrapped.model.layers[1]?.trainable, false);
      const x = tf.randomUniform<tf.Rank.R4>([2, 4, 4, 3], 0, 255, 'float32', 3);
      const got = Array.from((wrapped.model.predict(x) as tf.Tensor).dataSync());
      const want = Array.from(tf.tidy(() => preprocess(x, p).reshape([2, -1])).dataSync());
      const diff = Math.max(...got.map((v, i) => Math.abs(v - (want[i] ?? Number.NaN))));
      assert.ok(diff < 1e-4, `max diff ${diff}`);
      wrapped.dispose();
      identity.dispose();
      x.dispose();
    });
  }
});
