import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ParamError } from '../../../src/errors.js';
import { parseClassSpec, selectClasses } from '../../../src/pipeline/data/classes.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';

const CIFAR = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

const paramError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof ParamError, `expected ParamError, got ${String(error)}`);
  assert.equal(error.param, 'classes');
  assert.match(error.message, pattern);
  return true;
};

describe('parseClassSpec', () => {
  it('selects all classes for an empty or missing spec', () => {
    assert.deepEqual(parseClassSpec('', CIFAR), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(parseClassSpec('  ', CIFAR), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(parseClassSpec(undefined, CIFAR), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('parses ranges, lists, names and mixes, in the order given', () => {
    assert.deepEqual(parseClassSpec('0-4', CIFAR), [0, 1, 2, 3, 4]);
    assert.deepEqual(parseClassSpec('5-9', CIFAR), [5, 6, 7, 8, 9]);
    assert.deepEqual(parseClassSpec('5,6,7', CIFAR), [5, 6, 7]);
    assert.deepEqual(parseClassSpec('7, 2', CIFAR), [7, 2]);
    assert.deepEqual(parseClassSpec('cat,dog', CIFAR), [3, 5]);
    assert.deepEqual(parseClassSpec('Dog, CAT', CIFAR), [5, 3]);
    assert.deepEqual(parseClassSpec('ship,0-1', CIFAR), [8, 0, 1]);
  });

  it('matches names containing "-", "/" and spaces before trying ranges', () => {
    assert.deepEqual(parseClassSpec('T-shirt/top,Ankle boot', FASHION), [0, 9]);
  });

  it('rejects bad specs naming the value and the valid range and names', () => {
    assert.throws(() => parseClassSpec('0-10', CIFAR), paramError(/classes "0-10": "0-10" is out of range; expected class indices 0-9, .*airplane, automobile/));
    assert.throws(() => parseClassSpec('cat,unicorn', CIFAR), paramError(/"unicorn" is not a class of this dataset; expected class indices 0-9/));
    assert.throws(() => parseClassSpec('4-1', CIFAR), paramError(/range "4-1" is reversed; write 1-4/));
    assert.throws(() => parseClassSpec('1,,2', CIFAR), paramError(/has an empty entry/));
    assert.throws(() => parseClassSpec('3,cat', CIFAR), paramError(/selects class 3 \(cat\) twice/));
    assert.throws(() => parseClassSpec('-1', CIFAR), paramError(/"-1" is not a class/));
    assert.throws(() => parseClassSpec('cat', CIFAR), paramError(/selects 1 class; a classifier needs at least 2/));
  });
});

describe('selectClasses', () => {
  // 6 images of 2×1×1 pixels; pixel values identify the image.
  const set: ImageSet = {
    images: Uint8Array.of(0, 1, 10, 11, 20, 21, 30, 31, 40, 41, 50, 51),
    labels: Int32Array.of(2, 7, 0, 7, 2, 5),
    count: 6,
    height: 2,
    width: 1,
    channels: 1,
  };

  it('keeps the chosen classes in dataset order and remaps labels to positions in classIds', () => {
    const out = selectClasses(set, [7, 2]);
    assert.equal(out.count, 4);
    assert.deepEqual(Array.from(out.labels), [1, 0, 0, 1]);
    assert.deepEqual(Array.from(out.images), [0, 1, 10, 11, 30, 31, 40, 41]);
    assert.deepEqual([out.height, out.width, out.channels], [2, 1, 1]);
  });

  it('copies: the result does not alias the source', () => {
    const out = selectClasses(set, [0, 5]);
    assert.deepEqual(Array.from(out.labels), [0, 1]);
    out.images[0] = 99;
    assert.equal(set.images[4], 20);
  });

  it('yields an empty set when no image has the classes', () => {
    assert.equal(selectClasses(set, [1, 3]).count, 0);
  });
});
