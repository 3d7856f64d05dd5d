import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { drawPool, labelBudgetSplit, matchClasses, splitHalves } from '../../../src/pipeline/adapt/target-split.js';

/** `count` 1×1 images whose pixel is their index (mod 256) and `ids` holds the index; labels i % classes. */
function indexedSet(count: number, classes: number): ImageSet & { ids: Int32Array } {
  return {
    images: Uint8Array.from({ length: count }, (_, i) => i % 256),
    labels: Int32Array.from({ length: count }, (_, i) => i % classes),
    count,
    height: 1,
    width: 1,
    channels: 1,
    ids: Int32Array.from({ length: count }, (_, i) => i),
  };
}

const names = ['a', 'b', 'c'];
const perClass = (set: ImageSet, classes: number) => Array.from({ length: classes }, (_, c) => set.labels.filter((l) => l === c).length);

describe('splitting a target domain', () => {
  it('splitHalves: disjoint halves covering the set, deterministic, dataset order kept', () => {
    const set = { ...indexedSet(101, 3), images: Uint8Array.from({ length: 101 }, (_, i) => i) };
    const { first, second } = splitHalves(set, 5);
    assert.deepEqual([first.count, second.count], [51, 50]);
    const all = [...first.images, ...second.images].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: 101 }, (_, i) => i), 'every image exactly once');
    assert.deepEqual([...first.images], [...first.images].sort((a, b) => a - b));
    assert.deepEqual(splitHalves(set, 5).first.images, first.images);
    assert.notDeepEqual(splitHalves(set, 6).first.images, first.images);
  });

  it('labelBudgetSplit: the budget per class, validation held out of it, the rest unlabelled', () => {
    const set = { ...indexedSet(90, 3), images: Uint8Array.from({ length: 90 }, (_, i) => i) };
    const split = labelBudgetSplit(set, { perClass: 10, validationFraction: 0.2, seed: 1, classNames: names, where: 'the test set' });
    assert.deepEqual(perClass(split.train, 3), [8, 8, 8]);
    assert.deepEqual(perClass(split.validation, 3), [2, 2, 2]);
    assert.deepEqual(perClass(split.rest, 3), [20, 20, 20]);
    const seen = [...split.train.images, ...split.validation.images, ...split.rest.images].sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 90 }, (_, i) => i), 'disjoint, nothing lost');
    assert.deepEqual(labelBudgetSplit(set, { perClass: 10, validationFraction: 0.2, seed: 1, classNames: names, where: '' }).train.images, split.train.images);
    const none = labelBudgetSplit(set, { perClass: 0, validationFraction: 0.2, seed: 1, classNames: names, where: '' });
    assert.deepEqual([none.train.count, none.validation.count, none.rest.count], [0, 0, 90]);
  });

  it('labelBudgetSplit refuses a budget above what a class has, naming the class and its count', () => {
    const set = indexedSet(31, 3); // class 0 has 11, classes 1 and 2 have 10
    assert.throws(
      () => labelBudgetSplit(set, { perClass: 11, validationFraction: 0, seed: 1, classNames: names, where: "the target's half" }),
      (e: unknown) => e instanceof ParamError && e.param === 'target_labels_per_class' && /at most 10, got 11 \(number\): target class 1 \(b\) has 10 images in the target's half/.test(e.message),
    );
    assert.throws(
      () => labelBudgetSplit(set, { perClass: 1, validationFraction: 0.2, seed: 1, classNames: names, where: '' }),
      (e: unknown) => e instanceof ParamError && e.param === 'target_labels_per_class' && /holds out 1 per class/.test(e.message),
    );
  });

  it('drawPool: a seeded draw of the requested size, or all; refuses more than there is', () => {
    const set = { ...indexedSet(50, 2), images: Uint8Array.from({ length: 50 }, (_, i) => i) };
    assert.equal(drawPool(set, 'all', 1, ''), set);
    const pool = drawPool(set, 20, 1, '');
    assert.equal(pool.count, 20);
    assert.equal(new Set(pool.images).size, 20);
    assert.deepEqual(drawPool(set, 20, 1, '').images, pool.images);
    assert.throws(() => drawPool(set, 51, 1, 'the pool'), (e: unknown) => e instanceof ParamError && e.param === 'target_unlabeled_samples' && /at most 50 .*the pool/.test(e.message));
  });

  it('matchClasses: the same classes by name in any order and case, else undefined', () => {
    assert.deepEqual(matchClasses(['0', '1', '2'], ['0', '1', '2']), [0, 1, 2]);
    assert.deepEqual(matchClasses(['Cat', 'dog'], ['DOG', 'cat']), [1, 0]);
    assert.equal(matchClasses(['0', '1'], ['0', '1', '2']), undefined);
    assert.equal(matchClasses(['Sandal', 'Shirt'], ['T-shirt/top', 'Trouser']), undefined);
  });
});
