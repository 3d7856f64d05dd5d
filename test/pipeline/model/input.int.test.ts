import { before, describe, it } from 'node:test';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { gatherPixels, imageBatch } from '../../../src/pipeline/model/input.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';

function set(channels: 1 | 3, size: number, count: number): ImageSet {
  const images = new Uint8Array(count * size * size * channels);
  images.forEach((_, i) => (images[i] = (i * 7) % 256));
  return { images, labels: new Int32Array(count), count, height: size, width: size, channels };
}

describe('model input', () => {
  before(async () => {
    const info = await initBackend('tensorflow');
    assert.equal(info.name, 'tensorflow');
  });

  it('gathers only the chosen images, in the given order', () => {
    const s = set(3, 2, 3);
    const px = gatherPixels(s, [2, 0]);
    assert.equal(px.length, 2 * 12);
    assert.deepEqual([...px.subarray(0, 12)], [...s.images.subarray(24, 36)]);
    assert.deepEqual([...px.subarray(12)], [...s.images.subarray(0, 12)]);
  });

  it("applies Keras's VGG preprocess_input: RGB→BGR minus the ImageNet means", () => {
    const s: ImageSet = { images: Uint8Array.from([10, 20, 30]), labels: new Int32Array(1), count: 1, height: 1, width: 1, channels: 3 };
    const x = imageBatch(s, [0], { inputSize: 1, preprocessing: PREPROCESSING.caffe });
    const got = [...x.dataSync()];
    x.dispose();
    const want = [30 - 103.939, 20 - 116.779, 10 - 123.68];
    got.forEach((v, i) => assert.ok(Math.abs(v - (want[i] ?? 0)) < 1e-4, `channel ${i}: ${v} vs ${want[i]}`));
  });

  it('replicates grayscale to 3 channels and resizes to the input size', () => {
    const s = set(1, 4, 2);
    const x = imageBatch(s, [0, 1], { inputSize: 8, preprocessing: PREPROCESSING.unit });
    assert.deepEqual(x.shape, [2, 8, 8, 3]);
    const [r, g, b] = tf.split(x, 3, 3).map((t) => t.dataSync());
    assert.deepEqual([...(r ?? [])], [...(g ?? [])]);
    assert.deepEqual([...(g ?? [])], [...(b ?? [])]);
    const max = x.max().dataSync()[0] ?? 0;
    assert.ok(max <= 1 && max > 0.5, `unit scaling, max ${max}`);
    tf.dispose(x);
  });

  it('leaves no tensors behind', () => {
    const s = set(1, 4, 2);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) imageBatch(s, [0, 1], { inputSize: 8, preprocessing: PREPROCESSING.caffe }).dispose();
    assert.equal(tf.memory().numTensors, before);
  });
});
