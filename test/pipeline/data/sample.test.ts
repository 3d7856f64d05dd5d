import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DataError, ParamError } from '../../../src/errors.js';
import { balancedSplit, epochOrder, mulberry32, permutation, subsetImageSet } from '../../../src/pipeline/data/sample.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';

/** `count` 1×1×1 images whose pixel is the image's id; labels from `labelOf`. */
function idSet(count: number, labelOf: (i: number) => number, id: (i: number) => number = (i) => i): ImageSet {
  return {
    images: Uint8Array.from({ length: count }, (_, i) => id(i)),
    labels: Int32Array.from({ length: count }, (_, i) => labelOf(i)),
    count,
    height: 1,
    width: 1,
    channels: 1,
  };
}

const countBy = (labels: Int32Array): Map<number, number> => {
  const m = new Map<number, number>();
  for (const l of labels) m.set(l, (m.get(l) ?? 0) + 1);
  return m;
};

describe('mulberry32 / permutation / epochOrder', () => {
  it('is deterministic per seed, in [0, 1), and roughly uniform', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const xs = Array.from({ length: 20000 }, () => a());
    assert.deepEqual(Array.from({ length: 20000 }, () => b()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
    assert.notDeepEqual(Array.from({ length: 5 }, mulberry32(43)), xs.slice(0, 5));
  });

  it('permutation is a permutation', () => {
    const p = permutation(1000, mulberry32(1));
    assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
    assert.notDeepEqual(Array.from(p), Array.from({ length: 1000 }, (_, i) => i));
  });

  it('epochOrder depends only on (seed, epoch)', () => {
    assert.deepEqual(epochOrder(500, 7, 3), epochOrder(500, 7, 3));
    assert.notDeepEqual(epochOrder(500, 7, 3), epochOrder(500, 7, 4));
    assert.notDeepEqual(epochOrder(500, 7, 3), epochOrder(500, 8, 3));
  });
});

describe('balancedSplit', () => {
  // 4 classes × 50 images, interleaved: image i has class i % 4.
  const set = idSet(200, (i) => i % 4);
  const ids = (s: ImageSet): number[] => Array.from(s.images);

  it('draws perClass per class and holds out round(perClass × fraction) of each', () => {
    const { train, validation } = balancedSplit(set, { perClass: 20, validationFraction: 0.25, seed: 1 });
    assert.deepEqual([...countBy(train.labels)].sort(), [[0, 15], [1, 15], [2, 15], [3, 15]]);
    assert.deepEqual([...countBy(validation.labels)].sort(), [[0, 5], [1, 5], [2, 5], [3, 5]]);
    const all = [...ids(train), ...ids(validation)];
    assert.equal(new Set(all).size, 80, 'no image is in both');
    for (const s of [train, validation]) s.labels.forEach((l, k) => assert.equal(l, (s.images[k] ?? -1) % 4, 'labels travel with images'));
    assert.deepEqual(ids(train), [...ids(train)].sort((a, b) => a - b), 'dataset order kept');
  });

  it('holds out at least one per class when the fraction is > 0, none when it is 0', () => {
    const small = balancedSplit(set, { perClass: 3, validationFraction: 0.05, seed: 1 });
    assert.equal(small.validation.count, 4);
    assert.equal(small.train.count, 8);
    const none = balancedSplit(set, { perClass: 3, validationFraction: 0, seed: 1 });
    assert.equal(none.validation.count, 0);
    assert.equal(none.train.count, 12);
  });

  it('is deterministic for a seed and changes with it', () => {
    const o = { perClass: 10, validationFraction: 0.2, seed: 5 };
    assert.deepEqual(ids(balancedSplit(set, o).train), ids(balancedSplit(set, o).train));
    assert.notDeepEqual(ids(balancedSplit(set, o).train), ids(balancedSplit(set, { ...o, seed: 6 }).train));
  });

  it('does not depend on the order classes appear in', () => {
    // Same images, grouped by class in reverse class order instead of interleaved; each class's
    // own images keep their relative order.
    const order = [3, 2, 1, 0].flatMap((c) => Array.from({ length: 50 }, (_, k) => c + 4 * k));
    const grouped = idSet(200, (i) => (order[i] ?? 0) % 4, (i) => order[i] ?? 0);
    const o = { perClass: 12, validationFraction: 0.25, seed: 9 };
    const sorted = (s: ImageSet): number[] => ids(s).sort((a, b) => a - b);
    assert.deepEqual(sorted(balancedSplit(grouped, o).train), sorted(balancedSplit(set, o).train));
    assert.deepEqual(sorted(balancedSplit(grouped, o).validation), sorted(balancedSplit(set, o).validation));
  });

  it('takes every image with perClass "all"', () => {
    const uneven = idSet(10, (i) => (i < 7 ? 0 : 1));
    const { train, validation } = balancedSplit(uneven, { perClass: 'all', validationFraction: 0.3, seed: 2 });
    assert.deepEqual([...countBy(validation.labels)].sort(), [[0, 2], [1, 1]]);
    assert.equal(train.count + validation.count, 10);
  });

  it('rejects a perClass larger than a class, naming the class, its count and the value', () => {
    const uneven = idSet(30, (i) => (i < 25 ? 0 : 1));
    assert.throws(() => balancedSplit(uneven, { perClass: 6, validationFraction: 0.2, seed: 1, classNames: ['cat', 'dog'] }), (e: unknown) => {
      assert.ok(e instanceof ParamError);
      assert.equal(e.param, 'samples_per_class');
      assert.match(e.message, /class 1 \(dog\) has 5 training images, fewer than samples_per_class=6/);
      return true;
    });
  });

  it('rejects bad options and classes without images', () => {
    const o = { perClass: 10, validationFraction: 0.2, seed: 1 };
    assert.throws(() => balancedSplit(set, { ...o, perClass: 0 }), (e: unknown) => e instanceof ParamError && e.param === 'samples_per_class');
    assert.throws(() => balancedSplit(set, { ...o, perClass: 2.5 }), (e: unknown) => e instanceof ParamError && e.param === 'samples_per_class');
    assert.throws(() => balancedSplit(set, { ...o, validationFraction: 1 }), (e: unknown) => e instanceof ParamError && /\[0, 1\), got 1 \(number\)/.test(e.message));
    assert.throws(() => balancedSplit(set, { ...o, perClass: 1, validationFraction: 0.5 }), (e: unknown) => e instanceof ParamError && /leaving none for training/.test(e.message));
    assert.throws(() => balancedSplit(idSet(4, (i) => (i < 2 ? 0 : 2)), { ...o, perClass: 1, validationFraction: 0 }), (e: unknown) => e instanceof DataError && /class 1 has no images/.test(e.message));
  });
});

describe('subsetImageSet', () => {
  it('copies the chosen images in the given order', () => {
    const set: ImageSet = { images: Uint8Array.of(1, 2, 3, 4, 5, 6), labels: Int32Array.of(0, 1, 2), count: 3, height: 1, width: 2, channels: 1 };
    const out = subsetImageSet(set, [2, 0]);
    assert.deepEqual(Array.from(out.images), [5, 6, 1, 2]);
    assert.deepEqual(Array.from(out.labels), [2, 0]);
    out.images[0] = 0;
    assert.equal(set.images[4], 5);
    assert.throws(() => subsetImageSet(set, [3]), RangeError);
  });
});
