/**
 * Domain-specific BatchNorm in the phase pipeline (src/pipeline/train/domain-bn.ts, inputs.ts): with
 * AdaBN, target sets go through the frozen prefix with target statistics and source sets with the
 * backbone's own, cached or not (the two caches have different keys); the classifier keeps the source
 * statistics until `adaptAfterTraining`, which gives every BN layer target statistics (a trainable
 * one through the adapted prefix) and tags saying so.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { splitAtFreeze } from '../../../src/pipeline/cache/split.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { adaptBatchNorm, batchNormLayers } from '../../../src/pipeline/model/adabn.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { inputsOf } from '../../../src/pipeline/model/graph.js';
import { imageBatch } from '../../../src/pipeline/model/input.js';
import { adaptAfterTraining } from '../../../src/pipeline/train/domain-bn.js';
import { phaseInputs, type CacheSettings, type PhaseSets } from '../../../src/pipeline/train/inputs.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { syntheticImageSet } from '../../support/make-datasets.js';
import { TINY_GRAPH } from '../../support/tiny-graph.js';

const SIZE = 8;
const input = { inputSize: SIZE, preprocessing: TINY_GRAPH.preprocessing };
const logger = pino({ level: 'silent' });
const sourceImages = syntheticImageSet({ count: 20, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 31 });
const darker = (set: ImageSet): ImageSet => ({ ...set, images: Uint8Array.from(set.images, (v) => 10 + Math.round(v * 0.3)) });
const targetImages = darker(syntheticImageSet({ count: 26, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed: 32 }));
const all = (n: number) => Int32Array.from({ length: n }, (_, i) => i);

/** Tiny graph classifier, `blocks` last blocks trainable, BN statistics as a pretrained net would have (not 0/1). */
function build(blocks: number): tf.LayersModel {
  const model = buildClassifier(TINY_GRAPH, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 4 });
  for (const l of batchNormLayers(model)) {
    const [g, b, m, v] = l.getWeights();
    if (g === undefined || b === undefined || m === undefined || v === undefined) throw new Error('BN weights');
    l.setWeights([g, b, tf.fill(m.shape, 0.2), tf.fill(v.shape, 2)]);
  }
  applyFreeze(model, TINY_GRAPH, planFreeze(TINY_GRAPH, { convLayers: 0, blocks }));
  return model;
}

const stats = (model: tf.LayersModel) => batchNormLayers(model).map((l) => l.getWeights().slice(2).map((w) => Array.from(w.dataSync())));
const values = (t: tf.Tensor) => Array.from(t.dataSync());
const maxDiff = (a: readonly number[], b: readonly number[]) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? Number.NaN))), 0);

/** The frozen prefix's activations of `set` through `model` as it is (its own statistics). */
function prefixOf(model: tf.LayersModel, set: ImageSet): number[] {
  const split = splitAtFreeze(model);
  if (split === undefined) throw new Error('nothing frozen');
  const x = imageBatch(set, all(set.count), input);
  const y = split.prefix.predict(x);
  x.dispose();
  if (Array.isArray(y)) throw new Error('one output');
  const out = values(y);
  y.dispose();
  return out;
}

describe('domain-specific BatchNorm in the phase inputs', () => {
  let root: string;
  const settings = (mode: CacheSettings['mode'], dir: string): CacheSettings =>
    ({ mode, dtype: 'float32', cacheRoot: join(root, dir), memoryBudgetBytes: 2 ** 26, maxDiskBytes: 2 ** 26, batchSize: 8, logger, now: Date.now, augment: [] });
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-domain-bn-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  // the same images as a source-domain set and as a target-domain set, plus an augmented target set (read through the prefix every time)
  const sets: PhaseSets = {
    source: { set: sourceImages, domain: 'source' },
    same_as_target: { set: targetImages, domain: 'source' },
    target: { set: targetImages, domain: 'target' },
    target_flipped: { set: targetImages, augment: ['flip'], domain: 'target' },
  };

  for (const mode of ['on', 'off'] as const) {
    it(`activation_cache=${mode}: source sets through the source statistics, target sets through AdaBN's, the model left with the source ones`, async () => {
      const model = build(1);
      const before = stats(model);
      const sourceExpected = prefixOf(model, sourceImages);
      const sameExpected = prefixOf(model, targetImages);
      const reference = build(1); // the same network, AdaBN'd on its own
      await adaptBatchNorm(reference, imageSource(targetImages, input), { batchSize: 5, select: (l) => l.name !== 'top_bn' });
      const targetExpected = prefixOf(reference, targetImages);
      assert.ok(maxDiff(targetExpected, sameExpected) > 1e-2, 'the statistics matter for these images');

      const inputs = await phaseInputs(model, sets, input, settings(mode, mode), { images: targetImages });
      try {
        assert.notEqual(inputs.model, model, 'the trainable suffix');
        assert.ok(inputs.domain?.statistics !== undefined);
        const read = (name: string, seed?: number) => {
          const source = inputs.sources[name];
          if (source === undefined) throw new Error(name);
          const t = source.batch(all(source.count), seed);
          const out = values(t);
          t.dispose();
          return out;
        };
        assert.ok(maxDiff(read('source'), sourceExpected) < 1e-5, 'source images: source statistics');
        assert.ok(maxDiff(read('same_as_target'), sameExpected) < 1e-5, 'target images in a source set: source statistics');
        assert.ok(maxDiff(read('target'), targetExpected) < 1e-5, 'target set: target statistics (another cache entry than the same images as a source set)');
        read('target_flipped', 7);
        assert.deepEqual(stats(model), before, 'the classifier keeps the source statistics between target reads');
      } finally {
        inputs.dispose();
      }
      model.dispose();
      reference.dispose();
    });
  }

  it('with source images: source sets through statistics re-estimated on them (each domain normalised by its own), target sets through the target ones', async () => {
    const model = build(1);
    const sourceRef = build(1);
    const targetRef = build(1);
    const prefixBn = (l: { name: string }) => l.name !== 'top_bn';
    await adaptBatchNorm(sourceRef, imageSource(sourceImages, input), { batchSize: 4, select: prefixBn });
    await adaptBatchNorm(targetRef, imageSource(targetImages, input), { batchSize: 4, select: prefixBn });
    const plain = prefixOf(model, sourceImages);
    const inputs = await phaseInputs(model, { source: { set: sourceImages, domain: 'source' }, target: { set: targetImages, domain: 'target' } }, input, settings('on', 'both'), { images: targetImages, sourceImages });
    try {
      const read = (name: string) => {
        const t = inputs.sources[name]?.batch(all(inputs.sources[name]?.count ?? 0));
        if (t === undefined) throw new Error(name);
        const out = values(t);
        t.dispose();
        return out;
      };
      assert.ok(maxDiff(read('source'), prefixOf(sourceRef, sourceImages)) < 1e-5, 'source statistics re-estimated on the source images');
      assert.ok(maxDiff(read('source'), plain) > 1e-2, "not the backbone's own statistics");
      assert.ok(maxDiff(read('target'), prefixOf(targetRef, targetImages)) < 1e-5, 'target statistics');
      const tags = await adaptAfterTraining(model, inputs.domain?.statistics, { images: targetImages, sourceImages }, input, { batchSize: 8, memoryBudgetBytes: 2 ** 26 });
      assert.equal(tags['transferkit.adabn_source_images'], '20');
    } finally {
      inputs.dispose();
    }
    [model, sourceRef, targetRef].forEach((m) => m.dispose());
  });

  it('after training: every BN layer gets target statistics, a trainable one through the adapted prefix; tags say how many', async () => {
    const model = build(1); // top block trainable: top_bn is after the cut
    const inputs = await phaseInputs(model, { target: { set: targetImages, domain: 'target' } }, input, settings('on', 'after'), { images: targetImages });
    const tags = await adaptAfterTraining(model, inputs.domain?.statistics, { images: targetImages }, input, { batchSize: 8, memoryBudgetBytes: 2 ** 26 });
    inputs.dispose();
    assert.deepEqual(tags, {
      'transferkit.adabn_images': '26', 'transferkit.adabn_source_images': "none (the backbone's own statistics on the source side)",
      'transferkit.adabn_layers': '4', 'transferkit.adabn_frozen_layers': '3', 'transferkit.bn_statistics': 'target',
    });
    const reference = build(1);
    await adaptBatchNorm(reference, imageSource(targetImages, input), { batchSize: 3 });
    const [got, want] = [stats(model).flat(2), stats(reference).flat(2)];
    assert.ok(maxDiff(got, want) < 1e-4, `every layer's statistics are the target ones (${maxDiff(got, want)})`);
    // top_bn's statistics are its input's moments through the adapted prefix
    const x = imageBatch(targetImages, all(targetImages.count), input);
    const at = inputsOf(model.getLayer('top_bn'))[0];
    if (at === undefined) throw new Error('input');
    const y = tf.model({ inputs: model.inputs, outputs: at }).predict(x);
    if (Array.isArray(y)) throw new Error('one output');
    const { mean } = tf.moments(y, [0, 1, 2]);
    assert.ok(maxDiff(values(mean), Array.from(model.getLayer('top_bn').getWeights()[2]?.dataSync() ?? [])) < 1e-4);
    [x, y, mean].forEach((t) => t.dispose());
    model.dispose();
    reference.dispose();
  });
});
