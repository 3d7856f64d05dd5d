import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { imageTensor } from '../../src/report/gallery.js';
import type { ImageSet } from '../../src/pipeline/data/types.js';

function set(count: number, height: number, width: number, channels: 1 | 3): ImageSet {
  const images = Uint8Array.from({ length: count * height * width * channels }, (_, i) => (i * 7) % 256);
  return { images, labels: new Int32Array(count), count, height, width, channels };
}

describe('gallery images', () => {
  it('cuts image i out of the set as it is when small', () => {
    const s = set(3, 4, 5, 1);
    const t = imageTensor(s, 2);
    assert.deepEqual(t.shape, [4, 5, 1]);
    assert.deepEqual([...t.dataSync()], [...s.images.subarray(40, 60)]);
    t.dispose();
  });
  it('scales large images down to 128 pixels on the long side, keeping the aspect and the value range', () => {
    const t = imageTensor(set(1, 256, 200, 3), 0);
    assert.deepEqual(t.shape, [128, 100, 3]);
    assert.equal(t.dtype, 'int32');
    const v = t.dataSync();
    assert.ok(v.every((x) => x >= 0 && x <= 255));
    t.dispose();
  });
  it('refuses an index outside the set', () => {
    assert.throws(() => imageTensor(set(2, 4, 4, 1), 2), /outside the set of 2/);
  });
});
