/**
 * No silent fallbacks: an example index outside its set or a label that is missing or outside the
 * classes is an InternalError naming what was read, never example 0, label 0 or zero pixels.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InternalError } from '../../src/errors.js';
import { StepBatches } from '../../src/pipeline/adapt/batches.js';
import { evaluate } from '../../src/pipeline/evaluate.js';
import { FileFeatureStore, MemoryFeatureStore } from '../../src/pipeline/cache/store.js';
import { balancedSplit, subsetImageSet } from '../../src/pipeline/data/sample.js';
import type { ImageSet } from '../../src/pipeline/data/types.js';
import { gatherPixels } from '../../src/pipeline/model/input.js';
import type { BatchSource } from '../../src/pipeline/train/source.js';

const internal = (pattern: RegExp) => (e: unknown) => e instanceof InternalError && e.code === 'ERR_INTERNAL' && pattern.test(e.message);

/** `count` 2×2 grey images whose pixels all equal their index + 1. */
function set(count: number, labels: Int32Array = Int32Array.from({ length: count }, (_, i) => i % 2)): ImageSet {
  const images = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) images.fill(i + 1, i * 4, (i + 1) * 4);
  return { images, labels, count, height: 2, width: 2, channels: 1 };
}

describe('gathering pixels', () => {
  it('copies the chosen images', () => {
    assert.deepEqual(Array.from(gatherPixels(set(3), [2, 0])), [3, 3, 3, 3, 1, 1, 1, 1]);
  });
  for (const bad of [3, -1, 1.5]) {
    it(`refuses index ${bad} of a 3-image set instead of copying zeros or a neighbour`, () => {
      assert.throws(() => gatherPixels(set(3), [0, bad]), internal(new RegExp(`index ${bad} is outside 0..2`)));
    });
  }
  it('refuses a set whose pixel buffer is shorter than its count says', () => {
    const short = { ...set(3), images: new Uint8Array(8) };
    assert.throws(() => gatherPixels(short, [2]), internal(/pixel buffer/));
  });
});

describe('cached activations', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-store-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('in memory: refuses a row outside the set instead of returning zeros', () => {
    const store = new MemoryFeatureStore(Float32Array.from([1, 2, 3, 4]), 2, 2);
    assert.deepEqual(Array.from(store.gather([1, 0])), [3, 4, 1, 2]);
    assert.throws(() => store.gather([2]), internal(/index 2 is outside 0..1/));
    assert.throws(() => store.gather([-1]), internal(/index -1 is outside 0..1/));
  });
  it('in a file: refuses a row outside the set', async () => {
    const path = join(dir, 'rows.bin');
    await writeFile(path, Buffer.from(Float32Array.from([1, 2, 3, 4]).buffer));
    const store = new FileFeatureStore(path, 0, 2, 2, 'float32');
    try {
      assert.deepEqual(Array.from(store.gather([1])), [3, 4]);
      assert.throws(() => store.gather([2]), internal(/index 2 is outside 0..1/));
      assert.throws(() => store.gather([-1]), internal(/index -1 is outside 0..1/));
    } finally {
      store.close();
    }
  });
});

describe('labels', () => {
  it('subsetImageSet refuses an example without a label instead of giving it class 0', () => {
    assert.throws(() => subsetImageSet(set(4, Int32Array.from([1, 1])), [3]), internal(/example 3 has label undefined/));
  });
  it('balancedSplit refuses an example without a label', () => {
    assert.throws(() => balancedSplit(set(4, Int32Array.from([1, 1, 0])), { perClass: 'all', validationFraction: 0, seed: 1 }), internal(/example 3 has label undefined/));
  });
  it('evaluation refuses a label outside the classes instead of counting it as a maximal loss outside the confusion matrix', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3], activation: 'softmax' })] });
    const source = (labels: Int32Array): BatchSource => ({ count: 4, labels, batch: (indices) => tf.ones([indices.length, 3]) });
    assert.equal((await evaluate(model, source(Int32Array.from([0, 1, 1, 0])), 2, 2)).count, 4);
    await assert.rejects(evaluate(model, source(Int32Array.from([0, 1, 2, 0])), 2, 2), internal(/evaluation: example 2 has label 2, expected a class in 0..1/));
    model.dispose();
  });
  it('an adaptation step refuses a labelled row whose label is missing or outside the classes', () => {
    const source = (labels: Int32Array): BatchSource => ({ count: 4, labels, batch: (indices) => tf.zeros([indices.length, 2, 2, 3]) });
    for (const labels of [Int32Array.from([0, 1]), Int32Array.from([0, 1, 2, 1])]) {
      const batches = new StepBatches({ source: source(labels) }, 4, 2, 1);
      assert.throws(() => batches.next(1), internal(/label (undefined|2), expected a class in 0..1/));
    }
  });
});
