import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cacheKey, type KeyParts } from '../../../src/pipeline/cache/key.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';

const parts: KeyParts = {
  forward: 'fused@1',
  weights: 'a'.repeat(64),
  cutAfter: 'block5_pool',
  input: { inputSize: 32, preprocessing: PREPROCESSING.caffe },
  dtype: 'float16',
  images: 'b'.repeat(64),
};

describe('activation-cache key', () => {
  it('changes with every part that changes the activations, the forward that computed them included', () => {
    const base = cacheKey(parts);
    assert.equal(cacheKey({ ...parts }), base, 'the same parts give the same key');
    const changed: KeyParts[] = [
      { ...parts, forward: 'predict@1' },
      { ...parts, forward: 'fused@2' },
      { ...parts, weights: 'c'.repeat(64) },
      { ...parts, cutAfter: 'block4_pool' },
      { ...parts, input: { inputSize: 48, preprocessing: PREPROCESSING.caffe } },
      { ...parts, input: { inputSize: 32, preprocessing: PREPROCESSING.tf } },
      { ...parts, dtype: 'float32' },
      { ...parts, images: 'd'.repeat(64) },
    ];
    for (const p of changed) assert.notEqual(cacheKey(p), base, JSON.stringify(p));
  });
});
