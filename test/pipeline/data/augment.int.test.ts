/** Augmentation on the native backend: flips mirror, crops shift whole pixels, seeds repeat. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, cropPadding } from '../../../src/pipeline/data/augment.js';

const batch = (n: number, side: number) => tf.tensor4d(Float32Array.from({ length: n * side * side * 3 }, (_, i) => i % 251), [n, side, side, 3]);

describe('augmentBatch', () => {
  it('flips some images left-right and leaves the others, the same way for the same seed', () => {
    const x = batch(16, 8);
    const a = augmentBatch(x, { ops: ['flip'], seed: 3 });
    const b = augmentBatch(x, { ops: ['flip'], seed: 3 });
    assert.deepEqual(a.dataSync(), b.dataSync());
    const mirrored = tf.reverse(x, 2);
    let flipped = 0;
    for (let i = 0; i < 16; i++) {
      const got = a.slice([i], [1]).dataSync().join();
      const same = got === x.slice([i], [1]).dataSync().join();
      const mirror = got === mirrored.slice([i], [1]).dataSync().join();
      assert.ok(same || mirror, `image ${i} is either kept or mirrored`);
      if (mirror) flipped++;
    }
    assert.ok(flipped > 0 && flipped < 16, `some but not all flipped (${flipped})`);
    const c = augmentBatch(x, { ops: ['flip'], seed: 4 });
    assert.notDeepEqual(a.dataSync(), c.dataSync());
    tf.dispose([x, a, b, c, mirrored]);
  });

  it('crops are whole-pixel shifts of the reflection-padded image, values never interpolated', () => {
    const side = 16;
    const x = batch(4, side);
    const pad = cropPadding(side);
    assert.equal(pad, 2);
    const padded = tf.mirrorPad(x, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'reflect');
    const out = augmentBatch(x, { ops: ['crop'], seed: 11 });
    assert.deepEqual(out.shape, x.shape);
    for (let i = 0; i < 4; i++) {
      const got = out.slice([i], [1]).dataSync();
      let match = false;
      for (let dy = 0; dy <= 2 * pad && !match; dy++) {
        for (let dx = 0; dx <= 2 * pad && !match; dx++) {
          const want = padded.slice([i, dy, dx, 0], [1, side, side, 3]).dataSync();
          match = want.every((v, k) => Math.abs(v - (got[k] ?? Number.NaN)) < 1e-3);
        }
      }
      assert.ok(match, `image ${i} equals one shifted window`);
    }
    tf.dispose([x, padded, out]);
  });

  it('leaks no tensors', () => {
    const x = batch(4, 8);
    const before = tf.memory().numTensors;
    augmentBatch(x, { ops: ['flip', 'crop'], seed: 1 }).dispose();
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});
