/**
 * What the trainer trains and on what: with the activation cache, the trainable suffix on cached
 * activations of the frozen prefix (computed once, reused every epoch and by later runs); without
 * it, the whole model on preprocessed images. The two are the same computation.
 */
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { cachedActivations, type CachedActivations } from '../cache/activations.js';
import { CHEAP_PREFIX_FLOPS, modelFlops } from '../cache/cost.js';
import { cacheKey, imagesDigest, weightsDigest } from '../cache/key.js';
import { splitAtFreeze, type SplitModel } from '../cache/split.js';
import { MemoryFeatureStore } from '../cache/store.js';
import type { ImageSet } from '../data/types.js';
import { FROZEN_FORWARD_REVISION } from '../model/infer/frozen-forward.js';
import type { InputSpec } from '../model/input.js';
import type { Augmentation } from '../params/fields.js';
import { DomainStatistics, domainForwards, throughPrefix, type AdabnPlan } from './domain-bn.js';
import { featureSource, imageSource, sourceOf, type BatchSource } from './source.js';
import type { CacheSettings, NamedInputs, PhaseSets, SetSpec, TrainingInputs } from './input-types.js';

export type { CacheSettings, NamedInputs, PhaseSets, SetSpec, TrainingInputs } from './input-types.js';

const augmentedWhy = (name: string, spec: SetSpec) => `off for ${spec.label ?? `the ${name} set`} (augmentation changes its inputs every epoch)`;

function uncachedSets(model: tf.LayersModel, sets: PhaseSets, input: InputSpec, why: string): NamedInputs {
  return {
    model,
    sources: Object.fromEntries(Object.entries(sets).map(([name, spec]) => [name, imageSource(spec.set, input, spec.augment)])),
    cacheTags: { 'transferkit.activation_cache': why },
    savedSeconds: () => 0,
    dispose: () => undefined,
  };
}

/** The supervised sets: the training set augmented with `augment`, validation and test as they are. */
export function supervisedSets(sets: { readonly train: ImageSet; readonly validation: ImageSet; readonly test: ImageSet }, augment: readonly Augmentation[]): PhaseSets {
  return { train: { set: sets.train, augment, label: 'the training set' }, validation: { set: sets.validation }, test: { set: sets.test, everyEpoch: false } };
}

/** trainingInputs for the three supervised sets (the training set augmented with `s.augment`). */
export async function trainingInputs(model: tf.LayersModel, sets: Parameters<typeof supervisedSets>[0], input: InputSpec, s: CacheSettings): Promise<TrainingInputs> {
  const named = await phaseInputs(model, supervisedSets(sets, s.augment), input, s);
  return { ...named, train: sourceOf(named.sources, 'train'), validation: sourceOf(named.sources, 'validation'), test: sourceOf(named.sources, 'test') };
}

/**
 * Every set of a phase as the step's model reads it: with the activation cache, the frozen prefix's
 * activations of each set without augmentation (computed once, reused every epoch and by later runs),
 * augmented sets through the prefix on every read; without it, images into the whole model. With
 * `adabn`, target sets (SetSpec.domain) go through the prefix with AdaBN's target statistics
 * (./domain-bn.ts), cached or not, and source sets with the prefix's own.
 */
export async function phaseInputs(model: tf.LayersModel, sets: PhaseSets, input: InputSpec, s: CacheSettings, adabn?: AdabnPlan): Promise<NamedInputs> {
  const split = s.mode === 'off' && adabn === undefined ? undefined : splitAtFreeze(model);
  if (split === undefined) {
    const inputs = uncachedSets(model, sets, input, s.mode === 'off' ? 'off' : 'not applicable (no frozen layers before the first trainable one)');
    return adabn === undefined ? inputs : { ...inputs, domain: { statistics: undefined } };
  }
  // without the cache after all: the suffix lets go of the classifier's layers (split.ts release)
  const uncached = (why: string): NamedInputs => {
    split.release();
    return uncachedSets(model, sets, input, why);
  };
  const flops = modelFlops(split.prefix);
  const cheap = s.mode === 'auto' && flops < CHEAP_PREFIX_FLOPS;
  const offWhy = s.mode === 'off'
    ? 'off'
    : `off (auto: the frozen prefix costs ${(flops / 1e6).toFixed(1)} MFLOP per image, cheaper to recompute than to cache; activation_cache=on forces it)`;
  if (cheap) s.logger.info({ prefix_mflop: flops / 1e6 }, `activation cache ${offWhy}`);
  if (adabn === undefined) return cheap ? uncached(offWhy) : cachedSets(model, split, sets, input, s, undefined);
  const statistics = await DomainStatistics.estimate(model, split.prefix, adabn, input, { batchSize: s.batchSize, memoryBudgetBytes: s.memoryBudgetBytes }).catch((error: unknown) => {
    split.release();
    throw error;
  });
  try {
    const inputs = s.mode === 'off' || cheap ? throughPrefix(split, sets, input, s, statistics, offWhy) : await cachedSets(model, split, sets, input, s, statistics);
    return {
      ...inputs,
      domain: { statistics },
      dispose: () => {
        inputs.dispose();
        statistics.dispose();
      },
    };
  } catch (error) {
    statistics.dispose();
    throw error;
  }
}

/**
 * The sets without augmentation from the activation cache, the others through the prefix on every
 * read; with `statistics`, target sets (SetSpec.domain) with the target's BatchNorm statistics (their
 * cache key differs: it hashes the prefix's weights, statistics included).
 */
async function cachedSets(model: tf.LayersModel, split: SplitModel, sets: PhaseSets, input: InputSpec, s: CacheSettings, statistics: DomainStatistics | undefined): Promise<NamedInputs> {
  const isTarget = (spec: SetSpec) => statistics !== undefined && spec.domain === 'target';
  const inDomain = <T>(spec: SetSpec, fn: () => Promise<T>): Promise<T> => (statistics !== undefined && isTarget(spec) ? statistics.withTargetAsync(fn) : fn());
  // without the cache after all: through the prefix with AdaBN, else the whole model (the suffix lets go of the layers)
  const fallBack = (why: string): NamedInputs => {
    if (statistics !== undefined) return throughPrefix(split, sets, input, s, statistics, why);
    split.release();
    return uncachedSets(model, sets, input, why);
  };
  const entries = Object.entries(sets);
  const augmented = entries.filter(([, spec]) => (spec.augment ?? []).length > 0);
  for (const [name, spec] of augmented) s.logger.info({ set: name, augment: spec.augment }, `activation cache ${augmentedWhy(name, spec)}; the sets without augmentation are cached`);
  const rowSize = split.featureShape.reduce((a, b) => a * b, 1);
  const options = { dir: join(s.cacheRoot, 'activations'), dtype: s.dtype, memoryBudgetBytes: s.memoryBudgetBytes, maxDiskBytes: s.maxDiskBytes, batchSize: s.batchSize, logger: s.logger, now: s.now, ...(s.progress === undefined ? {} : { progress: s.progress }) };
  const t0 = s.now();
  const forwards = domainForwards(split, input, s, statistics);
  const got = new Map<string, CachedActivations>();
  const closeAll = () => {
    got.forEach((c) => c.store.close());
    forwards.dispose();
  };
  // One memory budget for all the sets: each keeps in memory what is left of it, or reads its cache file.
  let budget = s.memoryBudgetBytes;
  for (const [name, spec] of entries.filter(([, sp]) => (sp.augment ?? []).length === 0)) {
    const forward = isTarget(spec) ? forwards.target ?? forwards.source : forwards.source;
    const cached = await inDomain(spec, () => {
      // the prefix's weights as they are for this domain: the target statistics give another key
      const key = cacheKey({ forward: `${forward.mode}@${FROZEN_FORWARD_REVISION}`, weights: weightsDigest(split.prefix), cutAfter: split.cutAfter, input, dtype: s.dtype, images: imagesDigest(spec.set) });
      return cachedActivations(forward, spec.set, input, key, rowSize, { ...options, memoryBudgetBytes: budget, label: `activation cache (${name})` });
    }).catch((error: unknown) => {
      closeAll();
      split.release();
      throw error;
    });
    if (cached === undefined) {
      closeAll();
      return fallBack('off (activations fit neither memory nor the cache folder)');
    }
    got.set(name, cached);
    if (cached.store instanceof MemoryFeatureStore) budget -= cached.bytes;
  }
  const all = [...got.values()];
  const first = all[0];
  if (first === undefined) {
    forwards.dispose();
    return fallBack('off (every set is augmented)');
  }
  const status = all.every((c) => c.status === 'hit') ? 'hit' : all.some((c) => c.status === 'hit') ? 'partial hit' : first.status;
  const bytes = all.reduce((sum, c) => sum + c.bytes, 0);
  const held = (inMemory: boolean) => [...got].filter(([, c]) => c.store instanceof MemoryFeatureStore === inMemory).map(([name]) => name);
  s.logger.info(
    { status, cut_after: split.cutAfter, bytes, dtype: s.dtype, in_memory: held(true), from_file: held(false), memory_budget: s.memoryBudgetBytes, seconds: (s.now() - t0) / 1000 },
    'activation cache ready',
  );
  const perEpoch = [...got].filter(([name]) => sets[name]?.everyEpoch !== false).reduce((sum, [, c]) => sum + c.computeSeconds, 0);
  const sources = Object.fromEntries(entries.map(([name, spec]): [string, BatchSource] => {
    const cached = got.get(name);
    return [name, cached === undefined ? forwards.prefixSource(spec) : featureSource(cached.store, spec.set.labels, split.featureShape)];
  }));
  return {
    model: split.suffix,
    sources,
    cacheTags: {
      'transferkit.activation_cache': status,
      'transferkit.activation_cache_cut_after': split.cutAfter,
      'transferkit.activation_cache_bytes': String(bytes),
      'transferkit.activation_cache_dtype': s.dtype,
      ...Object.fromEntries(augmented.map(([name, spec]) => [`transferkit.activation_cache_${name}`, augmentedWhy(name, spec)])),
    },
    savedSeconds: (epochsRun) => perEpoch * Math.max(0, epochsRun - 1) + all.filter((c) => c.status === 'hit').reduce((sum, c) => sum + c.computeSeconds, 0),
    // the prefix and suffix share the classifier's layers: the suffix lets go of them, the classifier
    // frees them; the compiled forwards hold their folded weights
    dispose: () => {
      closeAll();
      split.release();
    },
  };
}
