/**
 * Domain-specific BatchNorm for the frozen prefix (AdaBN combined with a training step): source images
 * go through the frozen backbone with its own (source or ImageNet) statistics, target images with
 * target statistics computed by AdaBN (../model/adabn.ts) on unlabelled target images. The classifier
 * holds the source statistics; the target ones are written in only while a target batch or a target
 * set's activations are computed (synchronously around each `predict`, or around one set's activation
 * cache), then the source ones are written back. After training, `applyTarget` keeps the target ones
 * for good (evaluation on the target, export).
 */
import type * as tf from '@tensorflow/tfjs';
import { InternalError } from '../../errors.js';
import type { ImageSet } from '../data/types.js';
import { adaptBatchNorm, batchNormLayers, disposeStatistics, readStatistics, writeStatistics, type BatchNormStatistics } from '../model/adabn.js';
import type { InputSpec } from '../model/input.js';
import type { FreezableBatchNorm } from '../model/layers/batch-norm.js';
import type { SplitModel } from '../cache/split.js';
import { compileFrozenForward } from '../model/infer/frozen-forward.js';
import type { CacheSettings, NamedInputs, PhaseSets, SetSpec } from './inputs.js';
import { imageSource, prefixSource, type BatchSource } from './source.js';

/** What a phase adapts its BatchNorm statistics on. */
export interface AdabnPlan {
  /** Unlabelled target images: the target statistics. */
  readonly images: ImageSet;
  /**
   * Source images (the labelled source training images): the frozen prefix's source-side statistics
   * are re-estimated on them, so both domains are normalised by their own statistics as AdaBN assumes
   * (a pretrained backbone's statistics are its pretraining data's, e.g. ImageNet's, not the source's).
   * Absent (no source images in the phase): the backbone's own statistics serve the source side.
   */
  readonly sourceImages?: ImageSet;
}

export class DomainStatistics {
  #current: 'source' | 'target' = 'source';

  private constructor(
    readonly layers: readonly FreezableBatchNorm[],
    private readonly source: BatchNormStatistics,
    private readonly target: BatchNormStatistics,
  ) {}

  /** AdaBN of the BatchNorm layers of `prefix` (a part of `model` sharing its layers), run on `model`. */
  static async estimate(model: tf.LayersModel, prefix: tf.LayersModel, plan: AdabnPlan, input: InputSpec, o: { batchSize: number; memoryBudgetBytes: number }): Promise<DomainStatistics> {
    const layers = batchNormLayers(prefix);
    const names = new Set(layers.map((l) => l.name));
    const original = readStatistics(layers);
    const adapt = (images: ImageSet) => adaptBatchNorm(model, imageSource(images, input), { batchSize: o.batchSize, memoryBudgetBytes: o.memoryBudgetBytes, select: (l) => names.has(l.name) });
    let source: BatchNormStatistics | undefined;
    try {
      if (plan.sourceImages !== undefined) await adapt(plan.sourceImages);
      source = readStatistics(layers);
      await adapt(plan.images);
      const target = readStatistics(layers);
      writeStatistics(layers, source);
      disposeStatistics(original);
      return new DomainStatistics(layers, source, target);
    } catch (error) {
      writeStatistics(layers, original);
      disposeStatistics(original);
      if (source !== undefined) disposeStatistics(source);
      throw error;
    }
  }

  /** Runs `fn` with the target statistics in the layers (synchronously: nothing else runs meanwhile). */
  withTarget<T>(fn: () => T): T {
    if (this.#current === 'target') return fn();
    writeStatistics(this.layers, this.target);
    try {
      return fn();
    } finally {
      writeStatistics(this.layers, this.source);
    }
  }

  /** As `withTarget` around an asynchronous computation that alone uses the model meanwhile (one set's activation cache). */
  async withTargetAsync<T>(fn: () => Promise<T>): Promise<T> {
    if (this.#current === 'target') return fn();
    writeStatistics(this.layers, this.target);
    try {
      return await fn();
    } finally {
      writeStatistics(this.layers, this.source);
    }
  }

  /** A source whose batches are computed with the target statistics. */
  targetSource(source: BatchSource): BatchSource {
    return { ...source, batch: (indices, seed) => this.withTarget(() => source.batch(indices, seed)) };
  }

  /** From now on the layers keep the target statistics. */
  applyTarget(): void {
    writeStatistics(this.layers, this.target);
    this.#current = 'target';
  }

  dispose(): void {
    disposeStatistics(this.source);
    disposeStatistics(this.target);
  }
}

/**
 * After training, the model for the target: the frozen prefix keeps the target statistics, and every
 * other BatchNorm layer (trainable ones, which trained on batch statistics) gets target statistics
 * by AdaBN through the adapted prefix. Returns the run's tags saying so.
 */
export async function adaptAfterTraining(model: tf.LayersModel, statistics: DomainStatistics | undefined, plan: AdabnPlan, input: InputSpec, o: { batchSize: number; memoryBudgetBytes: number }): Promise<Record<string, string>> {
  statistics?.applyTarget();
  const frozen = new Set(statistics?.layers.map((l) => l.name) ?? []);
  const after = await adaptBatchNorm(model, imageSource(plan.images, input), { ...o, select: (l) => !frozen.has(l.name) });
  const layers = frozen.size + after.layers.length;
  if (layers === 0) throw new InternalError(`AdaBN: model ${model.name} has no BatchNorm layer (the parameter checks should have refused this backbone)`);
  return {
    'transferkit.adabn_images': String(plan.images.count),
    'transferkit.adabn_source_images': plan.sourceImages === undefined || frozen.size === 0 ? 'none (the backbone\'s own statistics on the source side)' : String(plan.sourceImages.count),
    'transferkit.adabn_layers': String(layers),
    'transferkit.adabn_frozen_layers': String(frozen.size),
    'transferkit.bn_statistics': 'target',
  };
}

/** The prefix's compiled forward for each domain: the target one runs with the target statistics written in (./domain-bn.ts). */
export function domainForwards(split: SplitModel, input: InputSpec, s: CacheSettings, statistics: DomainStatistics | undefined) {
  const source = compileFrozenForward(split.prefix, s.frozenForward ?? 'fused');
  const target = statistics === undefined ? undefined : compileFrozenForward(split.prefix, s.frozenForward ?? 'fused');
  return {
    source,
    /** The forward a set's reads go through: `withTarget` for target sets (folded weights are made per forward, once per statistics). */
    prefixSource: (spec: SetSpec): BatchSource =>
      statistics !== undefined && target !== undefined && spec.domain === 'target'
        ? statistics.targetSource(prefixSource(spec.set, input, spec.augment ?? [], target))
        : prefixSource(spec.set, input, spec.augment ?? [], source),
    target,
    dispose: () => {
      source.dispose();
      target?.dispose();
    },
  };
}

/** Every set through the frozen prefix on every read (nothing cached), target sets with the target statistics. */
export function throughPrefix(split: SplitModel, sets: PhaseSets, input: InputSpec, s: CacheSettings, statistics: DomainStatistics, why: string): NamedInputs {
  const forwards = domainForwards(split, input, s, statistics);
  const sources = Object.fromEntries(Object.entries(sets).map(([name, spec]): [string, BatchSource] => [name, forwards.prefixSource(spec)]));
  return {
    model: split.suffix,
    sources,
    cacheTags: { 'transferkit.activation_cache': why },
    savedSeconds: () => 0,
    dispose: () => {
      forwards.dispose();
      split.release();
    },
  };
}
