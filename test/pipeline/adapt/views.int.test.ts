/**
 * Pseudo-label views follow the target dataset's registry entry (src/pipeline/data/views.ts): digits
 * are never mirrored (a flipped digit is another glyph or none), natural images are; pseudo_label_views
 * overrides. Checked on the images the views produce: an image whose ink is on its left stays so.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adaptSets } from '../../../src/pipeline/adapt/adapt-plan.js';
import type { AdaptData } from '../../../src/pipeline/adapt/adapt-data.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { DATASETS, FASHION_MNIST, MNIST } from '../../../src/pipeline/data/registry.js';
import type { ImageSet, LoadedDataset } from '../../../src/pipeline/data/types.js';
import { FOLDER_VIEWS, VIEWS } from '../../../src/pipeline/data/views.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { USPS } from '../../../src/pipeline/data/usps.js';

const SIDE = 28;
/** Grayscale images with a bright stripe in columns 2-5: left-heavy, whatever shift a crop makes (≤ 4 px). */
function leftInk(count: number): ImageSet {
  const images = new Uint8Array(count * SIDE * SIDE);
  for (let i = 0; i < count; i++) for (let y = 0; y < SIDE; y++) for (let x = 2; x < 6; x++) images[i * SIDE * SIDE + y * SIDE + x] = 255;
  return { images, labels: new Int32Array(count), count, height: SIDE, width: SIDE, channels: 1 };
}

function data(target: LoadedDataset['views']): AdaptData {
  const set = leftInk(16);
  const dataset = (name: string, views: LoadedDataset['views']): LoadedDataset => ({ name, classNames: ['a'], train: set, test: set, fingerprint: name, source: name, views });
  return {
    source: dataset('source', VIEWS.mirrorable), target: dataset('target', target), shared: true, halves: true, classIds: [0], classNames: ['a'],
    sourceSets: { train: set, validation: set, test: set }, targetTrain: { ...set, count: 0, images: new Uint8Array(0), labels: new Int32Array(0) },
    targetValidation: set, targetPool: set, targetTest: set,
  };
}

const input = { inputSize: SIDE, preprocessing: PREPROCESSING.unit };

/** Over 40 seeded batches of the set's view, how many images came out mirrored (ink on the right). */
function mirrored(sets: ReturnType<typeof adaptSets>, name: string): number {
  const spec = sets[name];
  if (spec === undefined) throw new Error(`no ${name} set`);
  const source = imageSource(spec.set, input, spec.augment);
  let count = 0;
  for (let seed = 1; seed <= 40; seed++) {
    const x = source.batch(Int32Array.from({ length: spec.set.count }, (_, i) => i), seed);
    const v = x.dataSync();
    x.dispose();
    for (let i = 0; i < spec.set.count; i++) {
      let left = 0;
      let right = 0;
      for (let y = 0; y < SIDE; y++) for (let c = 0; c < SIDE; c++) {
        const p = v[((i * SIDE + y) * SIDE + c) * 3] ?? 0;
        if (c < SIDE / 2) left += p;
        else right += p;
      }
      if (right > left) count++;
    }
  }
  return count;
}

const params = (views: 'auto' | 'flip' | 'no_flip') => ({ augment: [], seed: 3, adaptation: 'adabn+pseudo_label', pseudo_label_views: views } as const);

describe('pseudo-label views by dataset', () => {
  before(async () => {
    await initBackend('tensorflow');
  });

  it('digits (MNIST, USPS): no view is ever mirrored; the strong view still shifts', () => {
    assert.deepEqual(MNIST.views, VIEWS.noFlip);
    assert.deepEqual(USPS.views, VIEWS.noFlip);
    const sets = adaptSets(params('auto'), data(MNIST.views));
    assert.equal(mirrored(sets, 'weak'), 0);
    assert.equal(mirrored(sets, 'unlabelled'), 0);
    assert.deepEqual(sets['unlabelled']?.augment, ['crop']);
    assert.deepEqual(sets['weak']?.augment, []);
  });

  it('natural images (Fashion-MNIST, CIFAR-10, folder:) are mirrored in about half the views', () => {
    assert.deepEqual(FASHION_MNIST.views, VIEWS.mirrorable);
    assert.deepEqual(FOLDER_VIEWS, VIEWS.mirrorable);
    const sets = adaptSets(params('auto'), data(FASHION_MNIST.views));
    for (const name of ['weak', 'unlabelled']) {
      const n = mirrored(sets, name);
      assert.ok(n > 200 && n < 440, `${name}: ${n} of 640 mirrored`);
    }
  });

  it('pseudo_label_views overrides the entry; every registry entry states its views', () => {
    assert.equal(mirrored(adaptSets(params('no_flip'), data(FASHION_MNIST.views)), 'weak'), 0);
    assert.ok(mirrored(adaptSets(params('flip'), data(MNIST.views)), 'weak') > 200);
    for (const d of DATASETS) assert.ok(d.views.strong.length > 0, `${d.name} has a strong view`);
  });

  it('marks the domains: target sets read with target statistics under AdaBN, source sets not', () => {
    const sets = adaptSets(params('auto'), data(MNIST.views));
    assert.deepEqual(
      Object.fromEntries(Object.entries(sets).map(([name, s]) => [name, s.domain])),
      { validation: 'source', test: 'target', entropy: 'target', source: 'source', source_test: 'source', unlabelled: 'target', weak: 'target' },
    );
  });
});
