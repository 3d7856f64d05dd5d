/** The types of a phase's inputs (inputs.ts): the sets it reads, the cache settings, what the trainer gets. */
import type * as tf from '@tensorflow/tfjs';
import type { Logger } from '../../log.js';
import type { FeatureDtype } from '../cache/store.js';
import type { ImageSet } from '../data/types.js';
import type { FrozenForwardMode } from '../model/infer/frozen-forward.js';
import type { Progress } from '../progress.js';
import type { Augmentation } from '../params/fields.js';
import type { DomainStatistics } from './domain-bn.js';
import type { BatchSource } from './source.js';

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
  /** Training-set augmentation of `trainingInputs`: its inputs change every epoch, so the training set is never cached. */
  readonly augment: readonly Augmentation[];
  /** A bar per set while its activations are computed. */
  readonly progress?: Progress;
  /**
   * How the frozen prefix runs (model/infer/frozen-forward.ts): `fused` (default: BatchNorm folded into
   * the convs, activations fused), or `predict` / `unfused` for tests and profiles.
   */
  readonly frozenForward?: FrozenForwardMode;
}

/** One set a step reads: its images, and the augmentation that changes them on every read (never cached). */
export interface SetSpec {
  readonly set: ImageSet;
  readonly augment?: readonly Augmentation[];
  /** What the tags and the log call it (default `the <name> set`). */
  readonly label?: string;
  /** Read every epoch (training streams, validation), so a cache saves its prefix time every epoch; default true. */
  readonly everyEpoch?: boolean;
  /** `target`: with AdaBN (PhaseOptions.adabn), the frozen prefix reads it with the target's BatchNorm statistics. */
  readonly domain?: 'source' | 'target';
}

/** The sets of a phase by name: `train`, `validation`, `test` for supervised steps; an adaptation step names its own. */
export type PhaseSets = Readonly<Record<string, SetSpec>>;

/** A phase's inputs by set name; see TrainingInputs. */
export interface NamedInputs extends Omit<TrainingInputs, 'train' | 'validation' | 'test'> {
  readonly sources: Readonly<Record<string, BatchSource>>;
  /** With AdaBN: the frozen prefix's two sets of statistics (undefined when nothing is frozen). */
  readonly domain?: { readonly statistics: DomainStatistics | undefined };
}
