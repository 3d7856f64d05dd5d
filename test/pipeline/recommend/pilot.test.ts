/**
 * The pilots' split of the labelled budget (pure) and a candidate's parameters: no training here
 * (pilot.int.test.ts runs real pilots).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import { fewestForPilot, splitForPilots, type PilotSplitOptions } from '../../../src/pipeline/recommend/pilot-split.js';
import { pilotParams } from '../../../src/pipeline/recommend/pilot.js';

/** `counts[c]` images of class c, interleaved; each image's two pixels spell its index in the budget. */
function budget(counts: readonly number[]): ImageSet {
  const labels: number[] = [];
  const left = [...counts];
  while (left.some((n) => n > 0)) left.forEach((n, c) => {
    if (n > 0) {
      labels.push(c);
      left[c] = n - 1;
    }
  });
  const images = new Uint8Array(labels.length * 2);
  labels.forEach((_, i) => images.set([i & 255, i >> 8], 2 * i));
  return { images, labels: Int32Array.from(labels), count: labels.length, height: 1, width: 2, channels: 1 };
}

/** The budget indices of a part's images (from their pixels), and their labels. */
const indicesOf = (set: ImageSet) => Array.from({ length: set.count }, (_, i) => (set.images[2 * i] ?? -1) + 256 * (set.images[2 * i + 1] ?? -1));
const perClass = (set: ImageSet, k: number) => Array.from({ length: k }, (_, c) => set.labels.filter((l) => l === c).length);

const options = (o: Partial<PilotSplitOptions> = {}): PilotSplitOptions => ({ holdOutFraction: 0.25, validationFraction: 0.2, seed: 42, classNames: ['a', 'b', 'c'], ...o });

describe('the pilots\' split of the labelled budget', () => {
  it('held-out, inner validation and inner training images are disjoint, cover the budget and keep their labels', () => {
    const b = budget([20, 12, 7]);
    const s = splitForPilots(b, options());
    const parts = [s.heldOut, s.validation, s.train].map(indicesOf);
    const all = parts.flat();
    assert.equal(new Set(all).size, all.length, 'no image in two parts');
    assert.deepEqual([...all].sort((x, y) => x - y), Array.from({ length: b.count }, (_, i) => i), 'every budget image in one part');
    for (const set of [s.heldOut, s.validation, s.train]) {
      indicesOf(set).forEach((index, k) => assert.equal(set.labels[k], b.labels[index], `image ${index} keeps its label`));
      const ix = indicesOf(set);
      assert.deepEqual(ix, [...ix].sort((x, y) => x - y), 'each part in budget order');
    }
  });

  it('is class-balanced: each class holds out its fraction (at least 1), then validation_fraction of the rest', () => {
    const s = splitForPilots(budget([20, 12, 3]), options());
    // 20: 5 held out, 3 of 15 validate, 12 train; 12: 3, 2 of 9, 7; 3: 1, 1 of 2, 1
    assert.deepEqual(perClass(s.heldOut, 3), [5, 3, 1]);
    assert.deepEqual(perClass(s.validation, 3), [3, 2, 1]);
    assert.deepEqual(perClass(s.train, 3), [12, 7, 1]);
    const none = splitForPilots(budget([20, 12, 3]), options({ validationFraction: 0 }));
    assert.deepEqual([perClass(none.heldOut, 3), perClass(none.validation, 3), perClass(none.train, 3)], [[5, 3, 1], [0, 0, 0], [15, 9, 2]]);
  });

  it('is the same for every candidate: a function of the budget, the fractions and the seed only; another seed draws others', () => {
    const a = splitForPilots(budget([20, 20, 20]), options());
    const again = splitForPilots(budget([20, 20, 20]), options());
    assert.deepEqual([a.heldOut, a.validation, a.train].map(indicesOf), [again.heldOut, again.validation, again.train].map(indicesOf));
    assert.deepEqual(a.heldOut.images, again.heldOut.images);
    const other = splitForPilots(budget([20, 20, 20]), options({ seed: 7 }));
    assert.notDeepEqual(indicesOf(other.heldOut), indicesOf(a.heldOut));
    assert.notDeepEqual(indicesOf(a.heldOut), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14], 'shuffled, not the first images');
  });

  it('refuses a class too small to hold one out and still train, with a ParamError naming the class, its count and the minimum', () => {
    assert.equal(fewestForPilot(options()), 3);
    assert.equal(fewestForPilot(options({ validationFraction: 0 })), 2);
    assert.throws(() => splitForPilots(budget([5, 2, 5]), options()), (e: unknown) =>
      e instanceof ParamError && e.code === 'ERR_PARAM' && e.param === 'samples_per_class' && /Class 1 \(b\) has 2 labelled images.*at least 3 labelled images per class/.test(e.message));
    assert.doesNotThrow(() => splitForPilots(budget([5, 2, 5]), options({ validationFraction: 0 })));
    assert.throws(() => splitForPilots(budget([4, 0, 4]), options()), (e: unknown) => e instanceof ParamError && /Class 1 \(b\) has 0 labelled images/.test(e.message));
  });
});

describe('a pilot candidate\'s parameters', () => {
  const base = parseParams(trainParamsSchema, { dataset: 'cifar10', backbone: 'efficientnet_lite0', samples_per_class: '20', seed: '3', register_model: 'm', resume: 'auto' });
  const pilot = { maxEpochs: 2, holdOutFraction: 0.25 };

  it('applies the overrides parsed by train\'s schema, caps the epochs and keeps the head solver the full run would use', () => {
    const frozen = pilotParams(base, { setting: 'retrained_blocks=0', params: { retrained_blocks: '0' } }, pilot);
    assert.equal(frozen.max_epochs, 2);
    // head_solver=auto with max_epochs=2 (not its default) would mean adam; the full run takes the ridge probe
    assert.equal(frozen.head_solver, 'ridge');
    assert.deepEqual([frozen.samples_per_class, frozen.seed, frozen.dataset], [20, 3, 'cifar10'], 'the base kept');
    assert.deepEqual([frozen.resume, frozen.register_model], ['never', undefined], 'no resume, no registration');
    const block = pilotParams(base, { setting: 'retrained_blocks=1', params: { retrained_blocks: '1' } }, pilot);
    assert.deepEqual([block.retrained_blocks, block.head_solver], [1, 'adam']);
    const scratch = pilotParams(base, { setting: 'weights=none retrained_blocks=all', params: { weights: 'none', retrained_blocks: 'all' } }, pilot);
    assert.deepEqual([scratch.weights, scratch.retrained_blocks], ['none', 'all']);
    assert.equal(pilotParams({ ...base, max_epochs: 1 }, { setting: 'x', params: {} }, pilot).max_epochs, 1, 'never more than the base asks for');
    assert.deepEqual(pilotParams({ ...base, fine_tune_blocks: 1, fine_tune_epochs: 9 }, { setting: 'x', params: {} }, pilot).fine_tune_epochs, 2);
  });

  it('refuses overrides that change the labelled images, add phases or are not valid train parameters', () => {
    const refused = (params: Record<string, string>, param: string, pattern: RegExp) =>
      assert.throws(() => pilotParams(base, { setting: 's', params }, pilot), (e: unknown) => e instanceof ParamError && e.param === param && pattern.test(e.message));
    refused({ samples_per_class: '10' }, 'samples_per_class', /same labelled images/);
    refused({ seed: '1' }, 'seed', /same labelled images/);
    refused({ compare_scratch: '1' }, 'compare_scratch', /target model only/);
    refused({ source_classes: '0-4' }, 'source_classes', /target model only/);
    refused({ adaptation: 'coral' }, 'adaptation', /adaptation=none/);
    refused({ retrained_blocks: 'lots' }, 'retrained_blocks', /must be a whole number/);
    refused({ retrained_block: '1' }, 'retrained_block', /Unknown parameter/);
  });
});
