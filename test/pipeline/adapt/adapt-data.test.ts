/**
 * Data preparation of an adaptation run on tiny MNIST-format datasets written by the test: the
 * domains' halves are disjoint, the shift is applied to the target only, the label budget and the
 * class checks hold, and errors about the target name the target's parameters.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { DataError, ParamError } from '../../../src/errors.js';
import { prepareAdaptData, type AdaptDataParams } from '../../../src/pipeline/adapt/adapt-data.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { tempDir } from '../../support/cli.js';
import { syntheticImageSet, writeIdxDataset } from '../../support/make-datasets.js';

const images = (set: ImageSet): string[] => {
  const size = set.height * set.width * set.channels;
  return Array.from({ length: set.count }, (_, i) => Buffer.from(set.images.subarray(i * size, (i + 1) * size)).toString('base64'));
};
const perClass = (set: ImageSet, classes: number) => Array.from({ length: classes }, (_, c) => set.labels.filter((l) => l === c).length);

describe('adaptation data', () => {
  let work: string;
  let dirA: string;
  let dirB: string;
  const deps = () => ({ env: {}, fetch, logger: pino({ level: 'silent' }), cacheDir: join(work, 'cache') });
  const params = (raw: Record<string, string>): AdaptDataParams => parseParams(trainParamsSchema, { dataset: 'mnist', data_dir: dirA, target_dataset: 'mnist', target_data_dir: dirA, samples_per_class: '6', ...raw });

  before(async () => {
    work = await tempDir('adapt-data');
    dirA = join(work, 'a');
    dirB = join(work, 'b');
    const shape = { height: 28, width: 28, channels: 1 as const, numClasses: 10 };
    await writeIdxDataset(dirA, syntheticImageSet({ ...shape, count: 400, seed: 3 }), syntheticImageSet({ ...shape, count: 60, seed: 4 }), { gzip: true });
    await writeIdxDataset(dirB, syntheticImageSet({ ...shape, count: 300, seed: 5 }), syntheticImageSet({ ...shape, count: 50, seed: 6 }), { gzip: false });
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('one dataset for both domains: disjoint halves, source budget from one, target pool from the other', async () => {
    const d = await prepareAdaptData(params({ adaptation: 'dann' }), deps());
    assert.equal(d.halves, true);
    assert.equal(d.shared, true);
    assert.ok(d.sourceSets);
    assert.deepEqual(perClass(d.sourceSets.train, 10), Array(10).fill(5));
    assert.deepEqual(perClass(d.sourceSets.validation, 10), Array(10).fill(1));
    assert.equal(d.targetTrain.count + d.targetValidation.count, 0);
    assert.equal(d.targetPool.count, 200, "every image of the target's half, unlabelled");
    const source = new Set([...images(d.sourceSets.train), ...images(d.sourceSets.validation)]);
    assert.ok(images(d.targetPool).every((img) => !source.has(img)), 'no source image in the target pool');
    assert.equal(d.targetTest.count, 60);
  });

  it('target_shift changes the target only, with a fixed seed: invert gives 255 − v on the same test images', async () => {
    const d = await prepareAdaptData(params({ target_shift: 'invert' }), deps());
    assert.ok(d.sourceSets);
    assert.deepEqual(Array.from(d.targetTest.images.subarray(0, 50)), Array.from(d.sourceSets.test.images.subarray(0, 50), (v) => 255 - v));
    const m1 = await prepareAdaptData(params({ target_shift: 'mnistm', seed: '1' }), deps());
    const m2 = await prepareAdaptData(params({ target_shift: 'mnistm', seed: '2' }), deps());
    assert.equal(m1.targetTest.channels, 3);
    assert.deepEqual(m1.targetTest.images, m2.targetTest.images, 'the target domain does not change with the run seed');
  });

  it('a target budget: labelled per class with validation held out, the unlabelled pool drawn from the rest', async () => {
    const d = await prepareAdaptData(params({ adaptation: 'pseudo_label', target_labels_per_class: '5', target_unlabeled_samples: '40' }), deps());
    assert.deepEqual(perClass(d.targetTrain, 10), Array(10).fill(4));
    assert.deepEqual(perClass(d.targetValidation, 10), Array(10).fill(1));
    assert.equal(d.targetPool.count, 40);
    const labelled = new Set([...images(d.targetTrain), ...images(d.targetValidation)]);
    assert.ok(images(d.targetPool).every((img) => !labelled.has(img)));
  });

  it('the same classes in another order map to the source order; different classes use the target head', async () => {
    const same = await prepareAdaptData(params({ classes: '0-2', target_classes: '2,0,1', target_data_dir: dirB }), deps());
    assert.equal(same.halves, false);
    assert.equal(same.shared, true);
    assert.deepEqual(same.classNames, ['0', '1', '2']);
    assert.deepEqual(Array.from(same.targetTest.labels.subarray(0, 3)), [0, 1, 2], 'labels remapped to the source order');
    const other = await prepareAdaptData(params({ classes: '0-4', target_classes: '5-9', adaptation: 'pseudo_label', target_labels_per_class: '3' }), deps());
    assert.equal(other.shared, false);
    assert.equal(other.sourceSets, undefined);
    assert.deepEqual(other.classNames, ['5', '6', '7', '8', '9']);
    assert.deepEqual(perClass(other.targetTrain, 5), Array(5).fill(2));
  });

  it('refuses different classes where the method needs them equal, naming target_classes', async () => {
    const other = { classes: '0-4', target_classes: '5-9' };
    for (const adaptation of ['dann', 'coral']) {
      await assert.rejects(prepareAdaptData(params({ ...other, adaptation, target_labels_per_class: '3' }), deps()), (e: unknown) => e instanceof ParamError && e.param === 'target_classes' && new RegExp(`adaptation=${adaptation}`).test(e.message));
    }
    for (const adaptation of ['none', 'pseudo_label']) {
      await assert.rejects(prepareAdaptData(params({ ...other, adaptation }), deps()), (e: unknown) => e instanceof ParamError && e.param === 'target_classes' && /target_labels_per_class is 0/.test(e.message));
    }
  });

  it('refuses a budget above what a class has, and a missing or unknown target dataset', async () => {
    await assert.rejects(prepareAdaptData(params({ target_labels_per_class: '100' }), deps()), (e: unknown) => e instanceof ParamError && e.param === 'target_labels_per_class' && /must be at most \d+, got 100 \(number\): target class \d \(\d\) has \d+ images in the target's half/.test(e.message));
    await assert.rejects(prepareAdaptData(params({ target_dataset: 'usps-nope' }), deps()), (e: unknown) => e instanceof ParamError && e.param === 'target_dataset' && /unknown dataset "usps-nope"/.test(e.message));
    await assert.rejects(prepareAdaptData(params({ target_data_dir: join(work, 'missing') }), deps()), (e: unknown) => e instanceof DataError && /target_data_dir=.*missing.* is not a directory/.test(e.message));
    await assert.rejects(prepareAdaptData(params({ target_classes: '3-12' }), deps()), (e: unknown) => e instanceof ParamError && e.param === 'target_classes');
  });
});
