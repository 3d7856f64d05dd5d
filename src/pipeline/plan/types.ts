/**
 * A run is a plan: up to three phases (a source model trained first and used as the base weights, the
 * target model, a from-scratch baseline), each a classifier trained through its stages; a stage is a
 * training step (supervised, or an adaptation method: ../train/steps.ts) over the phase's sets. The
 * plan also carries what only its kind knows: the data's fingerprint and tags, and how to close the run
 * (closing numbers and words, report.html). ../run.ts runs every plan the same way.
 */
import type { RunFinished } from '../events.js';
import type { BackboneSpec } from '../model/backbones.js';
import type { TrainParams } from '../params/train.js';
import type { DataDeps } from '../prepare-data.js';
import type { PhaseSets } from '../train/inputs.js';
import type { AdabnPlan } from '../train/domain-bn.js';
import type { PhaseResult, StageSpec } from '../train/stages.js';

export interface PhasePlan {
  /** The dataset the model is exported as trained on (model metadata). */
  readonly dataset: string;
  /** Dataset class indices in the model's output order, and their names. */
  readonly classIds: readonly number[];
  readonly classNames: readonly string[];
  readonly sets: PhaseSets;
  /** Sets evaluated at the end besides `test` (PhaseResult.otherTests). */
  readonly alsoEvaluate?: readonly string[];
  readonly stages: readonly StageSpec[];
  /** AdaBN (../train/domain-bn.ts): the unlabelled target images the BatchNorm statistics are computed on. */
  readonly adabn?: AdabnPlan;
}

export interface PhaseResults {
  readonly target: PhaseResult;
  readonly source?: PhaseResult | undefined;
  readonly scratch?: PhaseResult | undefined;
}

/** What the run knows when it closes, before its closing numbers and words. */
export type FinishedBase = Omit<RunFinished, 'metrics' | 'tags'>;

export interface RunPlan {
  readonly target: PhasePlan;
  readonly source?: PhasePlan;
  readonly scratch?: PhasePlan;
  /** The data's fingerprint for checkpoints (every dataset the run reads). */
  readonly dataFingerprint: string;
  /** Tags of the run's data and kind, sent when it starts. */
  readonly tags: Readonly<Record<string, string>>;
  /** The closing numbers (logged at step 0) and words (tags) of the finished phases. */
  close(results: PhaseResults, finished: FinishedBase): { readonly metrics: Record<string, number>; readonly tags: Record<string, string> };
  /** Writes report.html for the finished run (`runId`: its MLflow run, when tracked). */
  writeReport(results: PhaseResults, finished: RunFinished, runId: string | undefined): Promise<unknown>;
}

/** What planning needs: the parameters, the backbone, data access (images sized for the model). */
export interface PlanContext {
  readonly params: TrainParams;
  readonly spec: BackboneSpec;
  readonly deps: DataDeps & { readonly now: () => number };
}
