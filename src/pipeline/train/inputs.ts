/**
 * What the trainer trains and on what: with the activation cache, the trainable suffix on cached
 * activations of the frozen prefix (computed once, reused every epoch and by later runs); without
 * it, the whole model on preprocessed images. The two are the same computation.
 */
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Logger } from '../../log.js';
import { cachedActivations, type CachedActivations } from '../cache/activations.js';
import { CHEAP_PREFIX_FLOPS, modelFlops } from '../cache/cost.js';
import { cacheKey, imagesDigest, weightsDigest } from '../cache/key.js';
import { splitAtFreeze } from '../cache/split.js';
import { MemoryFeatureStore, type FeatureDtype } from '../cache/store.js';
import type { ImageSet } from '../data/types.js';
import type { InputSpec } from '../model/input.js';
import type { Progress } from '../progress.js';
import type { Augmentation } from '../params/fields.js';
import { featureSource, imageSource, prefixSource, type BatchSource } from './source.js';

export interface TrainingInputs {
  readonly model: tf.LayersModel;
  readonly train: BatchSource;
  readonly validation: BatchSource;
  readonly test: BatchSource;
  /** Facts for the run's tags: hit/miss, size, cut. */
  readonly cacheTags: Record<string, string>;
  /** Time the cache saves over recomputing the frozen prefix every epoch, given the epochs run. */
  savedSeconds(epochsRun: number): number;
  dispose(): void;
}

export interface CacheSettings {
  /** `auto`: cache unless the frozen prefix is cheaper to recompute (cache/cost.ts); `on`: always. */
  readonly mode: 'auto' | 'on' | 'off';
  readonly dtype: FeatureDtype;
  readonly cacheRoot: string;
  readonly memoryBudgetBytes: number;
  readonly maxDiskBytes: number;
  readonly batchSize: number;
  readonly logger: Logger;
  readonly now: () => number;
  /** Training-set augmentation: its inputs change every epoch, so the training set is never cached. */
  readonly augment: readonly Augmentation[];
  /** A bar per set while its activations are computed. */
  readonly progress?: Progress;
}

const AUGMENTED = 'off for the training set (augmentation changes its inputs every epoch)';

type Sets = { readonly train: ImageSet; readonly validation: ImageSet; readonly test: ImageSet };

function uncached(model: tf.LayersModel, sets: Sets, input: InputSpec, why: string, augment: readonly Augmentation[]): TrainingInputs {
  return {
    model,
    train: imageSource(sets.train, input, augment),
    validation: imageSource(sets.validation, input),
    test: imageSource(sets.test, input),
    cacheTags: { 'transferkit.activation_cache': why },
    savedSeconds: () => 0,
    dispose: () => undefined,
  };
}

export async function trainingInputs(model: tf.LayersModel, sets: Sets, input: InputSpec, s: CacheSettings): Promise<TrainingInputs> {
  if (s.mode === 'off') return uncached(model, sets, input, 'off', s.augment);
  const split = splitAtFreeze(model);
  if (split === undefined) return uncached(model, sets, input, 'not applicable (no frozen layers before the first trainable one)', s.augment);
  const flops = modelFlops(split.prefix);
  if (s.mode === 'auto' && flops < CHEAP_PREFIX_FLOPS) {
    const why = `off (auto: the frozen prefix costs ${(flops / 1e6).toFixed(1)} MFLOP per image, cheaper to recompute than to cache; activation_cache=on forces it)`;
    s.logger.info({ prefix_mflop: flops / 1e6 }, `activation cache ${why}`);
    return uncached(model, sets, input, why, s.augment);
  }
  const augmented = s.augment.length > 0;
  if (augmented) s.logger.info({ augment: s.augment }, `activation cache ${AUGMENTED}; the validation and test sets are cached`);
  const rowSize = split.featureShape.reduce((a, b) => a * b, 1);
  const weights = weightsDigest(split.prefix);
  const options = { dir: join(s.cacheRoot, 'activations'), dtype: s.dtype, memoryBudgetBytes: s.memoryBudgetBytes, maxDiskBytes: s.maxDiskBytes, batchSize: s.batchSize, logger: s.logger, now: s.now, ...(s.progress === undefined ? {} : { progress: s.progress }) };
  const t0 = s.now();
  const got: Partial<Record<keyof Sets, CachedActivations>> = {};
  const closeAll = () => Object.values(got).forEach((c) => c.store.close());
  // One memory budget for all the sets: each keeps in memory what is left of it, or reads its cache file.
  let budget = s.memoryBudgetBytes;
  for (const name of augmented ? (['validation', 'test'] as const) : (['train', 'validation', 'test'] as const)) {
    const key = cacheKey({ weights, cutAfter: split.cutAfter, input, dtype: s.dtype, images: imagesDigest(sets[name]) });
    const cached = await cachedActivations(split.prefix, sets[name], input, key, rowSize, { ...options, memoryBudgetBytes: budget, label: `activation cache (${name})` }).catch(
      (error: unknown) => {
        closeAll();
        throw error;
      },
    );
    if (cached === undefined) {
      closeAll();
      return uncached(model, sets, input, 'off (activations fit neither memory nor the cache folder)', s.augment);
    }
    got[name] = cached;
    if (cached.store instanceof MemoryFeatureStore) budget -= cached.bytes;
  }
  const { train, validation, test } = got;
  if (validation === undefined || test === undefined || (train === undefined && !augmented)) throw new Error('activation cache: a set is missing');
  const all = [train, validation, test].filter((c): c is CachedActivations => c !== undefined);
  const status = all.every((c) => c.status === 'hit') ? 'hit' : all.some((c) => c.status === 'hit') ? 'partial hit' : (train ?? validation).status;
  const bytes = all.reduce((sum, c) => sum + c.bytes, 0);
  const held = (inMemory: boolean) => Object.entries(got).filter(([, c]) => c.store instanceof MemoryFeatureStore === inMemory).map(([name]) => name);
  s.logger.info(
    { status, cut_after: split.cutAfter, bytes, dtype: s.dtype, in_memory: held(true), from_file: held(false), memory_budget: s.memoryBudgetBytes, seconds: (s.now() - t0) / 1000 },
    'activation cache ready',
  );
  const perEpoch = (train?.computeSeconds ?? 0) + validation.computeSeconds;
  return {
    model: split.suffix,
    train: train === undefined
      ? prefixSource(sets.train, input, s.augment, split.prefix)
      : featureSource(train.store, sets.train.labels, split.featureShape),
    validation: featureSource(validation.store, sets.validation.labels, split.featureShape),
    test: featureSource(test.store, sets.test.labels, split.featureShape),
    cacheTags: {
      'transferkit.activation_cache': status,
      'transferkit.activation_cache_cut_after': split.cutAfter,
      'transferkit.activation_cache_bytes': String(bytes),
      'transferkit.activation_cache_dtype': s.dtype,
      ...(augmented ? { 'transferkit.activation_cache_train': AUGMENTED } : {}),
    },
    savedSeconds: (epochsRun) =>
      perEpoch * Math.max(0, epochsRun - 1) + all.filter((c) => c.status === 'hit').reduce((sum, c) => sum + c.computeSeconds, 0),
    // the prefix and suffix share the classifier's layers: disposing the classifier frees them
    dispose: () => all.forEach((c) => c.store.close()),
  };
}
