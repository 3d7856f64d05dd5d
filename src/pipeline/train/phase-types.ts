/**
 * The types of a training phase (stages.ts): its stages, options, progress for checkpoints, resume
 * point and result.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Evaluation } from '../evaluate.js';
import type { EpochContext, Phase } from '../events.js';
import type { BackboneSpec } from '../model/backbones.js';
import type { FreezePlan } from '../model/freeze.js';
import type { InputSpec } from '../model/input.js';
import type { Progress } from '../progress.js';
import type { RawTensor } from '../checkpoint/format.js';
import type { StageRecord } from '../checkpoint/state.js';
import type { EarlyStopState } from './early-stop.js';
import type { EpochMetrics, FitResume } from './fit.js';
import type { TtaMode } from '../tta.js';
import type { CacheSettings, PhaseSets } from './inputs.js';
import type { AdabnPlan } from './domain-bn.js';
import type { TrainingStep } from './steps.js';

export interface StageSpec {
  readonly plan: FreezePlan;
  readonly learningRate: number;
  readonly maxEpochs: number;
  /** `ridge`: the head is solved in closed form (train/probe.ts) instead of trained; default Adam. */
  readonly solver?: 'adam' | 'ridge';
  /**
   * With `solver: 'ridge'`: the probe fits the training and validation images together and picks λ by
   * their leave-one-out scores instead of on the validation split (head_solver=auto, no later stage;
   * ../recipe.ts). Every label then trains, as with validation_fraction=0.
   */
  readonly poolValidation?: boolean;
  /** What the stage trains with (./steps.ts); default the supervised step, or the probe's with `solver: 'ridge'`. */
  readonly step?: TrainingStep;
}

export interface PhaseOptions {
  readonly phase: Phase;
  readonly stages: readonly StageSpec[];
  /** The classifier's backbone: its blocks say which layers a stage's freeze plan covers. */
  readonly backbone: BackboneSpec;
  /** The phase's sets by name (`train`, `validation`, `test`, and what an adaptation step reads); `test` is evaluated at the end. */
  readonly sets: PhaseSets;
  /** Further sets evaluated at the end like `test` (e.g. an adaptation's source test set). */
  readonly alsoEvaluate?: readonly string[];
  readonly numClasses: number;
  readonly input: InputSpec;
  readonly cache: CacheSettings;
  readonly batchSize: number;
  /** Early-stopping patience per stage, or undefined for none. */
  readonly patience: number | undefined;
  readonly seed: number;
  readonly now: () => number;
  readonly onEpoch?: (metrics: EpochMetrics, context: EpochContext) => void | Promise<void>;
  /** After every epoch: what a checkpoint needs (the model is the one being trained). */
  readonly onProgress?: (progress: PhaseProgress) => Promise<void>;
  /** Continue from a checkpoint of this phase. */
  readonly resume?: PhaseResume;
  readonly beforeBatch?: (model: tf.LayersModel, epoch: number, batch: number) => void;
  readonly signal?: AbortSignal;
  /** Bars for each epoch and the test-set evaluation. */
  readonly progress?: Progress;
  /** Test-time augmentation of the test-set evaluation (tta.ts): the whole classifier on each view. */
  readonly tta?: TtaMode;
  /** Discriminative learning rates (adam.ts): the backbone's = the stage's × this (default 1). */
  readonly backboneLrFactor?: number;
  /** L2-SP (l2sp.ts): the weight α of the pull toward the backbone's weights at the phase's start (default 0: none). */
  readonly l2spWeight?: number;
  /**
   * AdaBN (./domain-bn.ts): the frozen prefix reads `domain: 'target'` sets with target BatchNorm
   * statistics; after the last stage every BatchNorm layer gets target statistics, `alsoEvaluate` sets
   * (the source side) evaluated just before, `test` after.
   */
  readonly adabn?: AdabnPlan;
}

export interface PhaseProgress {
  readonly stage: number;
  readonly stageDone: boolean;
  readonly stageEpochs: readonly EpochMetrics[];
  readonly earlierStages: readonly StageRecord[];
  readonly earlyStop: EarlyStopState | undefined;
  readonly stageTags: Readonly<Record<string, string>>;
  readonly model: tf.LayersModel;
  /** The step's own tensors (./steps.ts StepProgress). */
  readonly stepState: readonly RawTensor[];
}

export interface PhaseResume {
  readonly stage: number;
  readonly earlierStages: readonly StageRecord[];
  readonly fit: FitResume;
  readonly stepState: readonly RawTensor[];
  /** Writes the checkpoint's weights and optimizer state into the compiled stage model (see StepResume). */
  restore(model: tf.LayersModel, extraTrainable?: readonly (readonly number[])[]): Promise<void>;
}

export interface StageOutcome {
  readonly stage: number;
  readonly trainable: readonly string[];
  readonly epochsRun: number;
  /** Epoch whose weights the model holds after this stage (before its first epoch when it never beat an earlier stage). */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

export interface PhaseResult {
  readonly epochs: readonly EpochMetrics[];
  readonly stages: readonly StageOutcome[];
  readonly test: Evaluation;
  /** The `alsoEvaluate` sets' evaluations, by set name. */
  readonly otherTests?: Readonly<Record<string, Evaluation>> | undefined;
  /** Epoch whose weights the model holds at the end: the best over all stages with early stopping, else the last. */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Seconds spent in the optimizer loops (validation included), summed over stages. */
  readonly trainSeconds: number;
  /** Wall time of the whole phase: caches, training, test evaluation. */
  readonly seconds: number;
  readonly cacheTags: Readonly<Record<string, string>>;
  readonly cacheSecondsSaved: number;
}
