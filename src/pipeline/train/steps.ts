/**
 * A training step: what one stage of a phase does with its inputs every epoch. The supervised step
 * is `fit` (./fit.ts: cross-entropy on the training set); the linear probe's is solved in closed form
 * (./probe.ts); an adaptation step (../adapt/step-fit.ts)
 * trains on labelled and unlabelled streams with its method's extra term. Every step reports the
 * same per-epoch events and checkpoint progress, and continues from a checkpoint the same way, so
 * the phase pipeline (./stages.ts) runs, checkpoints and resumes them all alike.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Logger } from '../../log.js';
import type { RawTensor } from '../checkpoint/format.js';
import { fit, type FitOptions, type FitProgress, type FitResult, type FitResume } from './fit.js';
import { probeStage } from './probe.js';
import type { EarlyStopState } from './early-stop.js';
import { sourceOf, type BatchSource } from './source.js';

/** Where a step stands after an epoch: the fit's progress and the step's own state (e.g. a discriminator). */
export interface StepProgress extends FitProgress {
  /** Tensors the step needs besides the model's weights and the optimizer's state; empty for `fit`. */
  readonly state: readonly RawTensor[];
}

/** A step continued from a checkpoint. */
export interface StepResume extends FitResume {
  readonly state: readonly RawTensor[];
  /**
   * Writes the checkpoint's weights and optimizer state into the compiled model; `extraTrainable`:
   * shapes of the variables the step trains besides the model's (their optimizer slots are saved too).
   */
  restore(model: tf.LayersModel, extraTrainable: readonly (readonly number[])[]): Promise<void>;
}

export interface StepContext extends Omit<FitOptions, 'train' | 'validation' | 'resume' | 'onProgress'> {
  /** The phase's inputs by set name (train/inputs.ts `phaseInputs`). */
  readonly sources: Readonly<Record<string, BatchSource>>;
  readonly onProgress?: (progress: StepProgress) => Promise<void>;
  readonly resume?: StepResume;
}

/** A stage's epochs, and tags the step adds (e.g. the probe's chosen λ). */
export interface StepResult extends FitResult {
  readonly tags?: Readonly<Record<string, string>>;
}

export interface TrainingStep {
  /** `supervised`, `ridge`, or `adaptation:<method>`. */
  readonly kind: string;
  /** Trains one stage of `model` (compiled: its optimizer is the step's) and returns its epochs. */
  fit(model: tf.LayersModel, context: StepContext): Promise<StepResult>;
}

/** Cross-entropy on the `train` set, validated on `validation` (./fit.ts). */
export const supervisedStep: TrainingStep = {
  kind: 'supervised',
  async fit(model, c) {
    const { sources, onProgress, resume, ...rest } = c;
    if (resume !== undefined) await resume.restore(model, []);
    return fit(model, {
      ...rest,
      train: sourceOf(sources, 'train'),
      validation: sourceOf(sources, 'validation'),
      ...(onProgress === undefined ? {} : { onProgress: (p: FitProgress) => onProgress({ ...p, state: [] }) }),
      ...(resume === undefined ? {} : { resume }),
    });
  },
};

/** The linear probe (./probe.ts): the head solved on `train`, λ chosen on `validation` (or both pooled, λ by leave-one-out); one "epoch". */
export function probeStep(logger: Logger, poolValidation = false): TrainingStep {
  return {
    kind: 'ridge',
    async fit(model, c) {
      if (c.resume !== undefined) await c.resume.restore(model, []);
      return probeStage(model, sourceOf(c.sources, 'train'), sourceOf(c.sources, 'validation'), {
        numClasses: c.numClasses, batchSize: c.batchSize, epoch: c.firstEpoch ?? 0, stage: c.stage ?? 1, now: c.now, logger, poolValidation,
        ...(c.onEpoch === undefined ? {} : { onEpoch: c.onEpoch }),
        ...(c.onProgress === undefined ? {} : { onProgress: (p: FitProgress) => c.onProgress?.({ ...p, state: [] }) ?? Promise.resolve() }),
        ...(c.resume === undefined ? {} : { resume: c.resume }),
        ...(c.signal === undefined ? {} : { signal: c.signal }),
      });
    },
  };
}

/** The step of a stage: its own, the linear probe's solver with `solver: 'ridge'`, or the supervised fit. */
export function stepOf(stage: { readonly step?: TrainingStep; readonly solver?: 'adam' | 'ridge'; readonly poolValidation?: boolean }, logger: Logger): TrainingStep {
  return stage.step ?? (stage.solver === 'ridge' ? probeStep(logger, stage.poolValidation === true) : supervisedStep);
}

/** How a stage's step continues: from a checkpoint inside the stage, or from early stopping carried over from the stage before. */
export function resumeStep(
  checkpoint: { readonly fit: FitResume; readonly stepState: readonly RawTensor[]; restore: StepResume['restore'] } | undefined,
  carried: EarlyStopState | undefined,
): StepResume | undefined {
  if (checkpoint !== undefined) return { ...checkpoint.fit, state: checkpoint.stepState, restore: (m, extra) => checkpoint.restore(m, extra) };
  return carried === undefined ? undefined : { epochs: [], done: false, earlyStop: carried, state: [], restore: async () => undefined };
}
