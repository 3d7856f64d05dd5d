/**
 * Test-time augmentation: the evaluation scores the mean of the views' softmax outputs (checked
 * against the two views predicted separately), the views go through the model batch_size images at a
 * time with the same result, and the views are the mirror and the padded shifts.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/pipeline/backend.js';
import { evaluate } from '../../src/pipeline/evaluate.js';
import { stackSpec } from '../../src/pipeline/model/arch/vgg.js';
import { buildClassifier } from '../../src/pipeline/model/build.js';
import { imageBatch } from '../../src/pipeline/model/input.js';
import { PREPROCESSING } from '../../src/pipeline/model/spec.js';
import { imageSource } from '../../src/pipeline/train/source.js';
import { ttaSource, ttaViews } from '../../src/pipeline/tta.js';
import { syntheticImageSet } from '../support/make-datasets.js';

const TINY = stackSpec({
  name: 'tiny', description: 'test backbone', filters: [[4, 4], [8]], defaultInputSize: 12, minInputSize: 4,
  preprocessing: PREPROCESSING.unit, weights: {}, flops: { inputSize: 12, gflops: 0 },
});
const input = { inputSize: 12, preprocessing: PREPROCESSING.unit };

describe('test-time augmentation', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  it('tta=flip scores the mean of the image\'s and its mirror\'s probabilities', async () => {
    const set = syntheticImageSet({ count: 10, height: 8, width: 8, channels: 3, numClasses: 3, seed: 5 });
    const model = buildClassifier(TINY, 12, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 2 });
    const all = Int32Array.from({ length: set.count }, (_, i) => i);
    const predict = (x: tf.Tensor) => {
      const y = model.predict(x);
      assert.ok(!Array.isArray(y));
      return y;
    };
    const mean = tf.tidy(() => tf.div(tf.add(predict(imageBatch(set, all, input)), predict(imageBatch(set, all, input, (x) => tf.reverse(x, 2)))), 2));
    const probs = await mean.data();
    mean.dispose();
    let nll = 0;
    set.labels.forEach((y, i) => (nll -= Math.log(Math.min(1 - 1e-7, Math.max(1e-7, probs[i * 3 + y] ?? 0)))));
    const expectedLoss = nll / set.count;
    const withTta = await evaluate(model, ttaSource(set, input, 'flip'), 3, 4);
    const plain = await evaluate(model, imageSource(set, input), 3, 4);
    assert.ok(Math.abs(withTta.loss - expectedLoss) < 1e-5, `TTA loss ${withTta.loss} vs the mean of the two views ${expectedLoss}`);
    assert.ok(Math.abs(plain.loss - expectedLoss) > 1e-4, 'the mirror must change the probabilities for this test to mean anything');
    assert.equal(withTta.count, set.count);
    model.dispose();
  });

  it('tta=flip_crop: the image, its mirror and each shifted to the corners of the reflection padding', async () => {
    const x = tf.tensor4d(Float32Array.from({ length: 16 * 16 }, (_, i) => i), [1, 16, 16, 1]);
    const views = ttaViews(x, 'flip_crop');
    assert.deepEqual(views.shape, [10, 16, 16, 1]);
    const v = (await views.array()).map((img) => img.map((row) => row.map((px) => px[0] ?? Number.NaN)));
    const pad = 2; // cropPadding(16)
    assert.deepEqual(v[0], (await x.array())[0]?.map((row) => row.map((px) => px[0])));
    assert.equal(v[5]?.[0]?.[0], 15, 'view 5 is the mirror');
    assert.equal(v[1]?.[pad]?.[pad], 0, 'view 1: shifted by the padding down and right');
    assert.equal(v[4]?.[0]?.[0], 2 * 16 + 2, 'view 4: shifted by the padding up and left');
    tf.dispose([x, views]);
  });

  it('sends the views through the model batch_size images at a time, with the unchunked mean as result', async () => {
    const set = syntheticImageSet({ count: 6, height: 8, width: 8, channels: 3, numClasses: 3, seed: 8 });
    const seen: number[] = [];
    class Recorder extends tf.layers.Layer {
      static readonly className = 'TtaBatchRecorder';
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        if (x === undefined) throw new Error('no input');
        seen.push(x.shape[0] ?? -1);
        return tf.clone(x);
      }
    }
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [12, 12, 3] }), new Recorder({}), tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.randomNormal({ seed: 4 }) })],
    });
    const source = ttaSource(set, input, 'flip_crop');
    const all = Int32Array.from({ length: set.count }, (_, i) => i);
    // the reference: every view of every image in one predict call, averaged over the 10 views
    const expected = tf.tidy(() => {
      const y = model.predict(source.batch(all), { batchSize: 10 * set.count });
      assert.ok(!Array.isArray(y));
      return tf.mean(tf.reshape(y, [10, set.count, 3]), 0);
    });
    const probs = await expected.data();
    expected.dispose();
    assert.deepEqual(seen, [10 * set.count]);
    let nll = 0;
    set.labels.forEach((y, i) => (nll -= Math.log(Math.min(1 - 1e-7, Math.max(1e-7, probs[i * 3 + y] ?? 0)))));
    seen.length = 0;
    const chunked = await evaluate(model, source, 3, 4);
    assert.ok(seen.length > 0 && Math.max(...seen) <= 4, `batches through the model: ${seen.join(', ')}`);
    assert.ok(Math.abs(chunked.loss - nll / set.count) < 1e-6, `chunked loss ${chunked.loss} vs unchunked ${nll / set.count}`);
    model.dispose();
  });
});
