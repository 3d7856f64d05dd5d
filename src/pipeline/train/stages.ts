/**
 * Trains one model through its stages and evaluates it on the test set. Stage 1 trains what its
 * freeze plan leaves trainable (the head, plus any retrained conv layers); an optional stage 2
 * unfreezes more layers and continues at a smaller learning rate (feature extraction, then
 * fine-tuning). Each stage has its own optimizer, early stopping (restoring its best weights) and
 * activation cache cut; the epoch count continues across stages.
 */
import * as tf from '@tensorflow/tfjs';
import { evaluate, type Evaluation } from '../evaluate.js';
import type { EpochContext, Phase } from '../events.js';
import type { ImageSet } from '../data/types.js';
import type { BackboneSpec } from '../model/backbones.js';
import { applyFreeze, type FreezePlan } from '../model/freeze.js';
import type { InputSpec } from '../model/input.js';
import type { StageRecord } from '../checkpoint/state.js';
import type { EarlyStopState } from './early-stop.js';
import { fit, type EpochMetrics, type FitResume } from './fit.js';
import { trainingInputs, type CacheSettings } from './inputs.js';

export interface StageSpec {
  readonly plan: FreezePlan;
  readonly learningRate: number;
  readonly maxEpochs: number;
}

export interface PhaseOptions {
  readonly phase: Phase;
  readonly stages: readonly StageSpec[];
  /** The classifier's backbone: its blocks say which layers a stage's freeze plan covers. */
  readonly backbone: BackboneSpec;
  readonly sets: { readonly train: ImageSet; readonly validation: ImageSet; readonly test: ImageSet };
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
}

export interface PhaseProgress {
  readonly stage: number;
  readonly stageDone: boolean;
  readonly stageEpochs: readonly EpochMetrics[];
  readonly earlierStages: readonly StageRecord[];
  readonly earlyStop: EarlyStopState | undefined;
  readonly model: tf.LayersModel;
}

export interface PhaseResume {
  readonly stage: number;
  readonly earlierStages: readonly StageRecord[];
  readonly fit: FitResume;
  /** Writes the checkpoint's weights and optimizer state into the compiled stage model. */
  restore(model: tf.LayersModel): Promise<void>;
}

export interface StageOutcome {
  readonly stage: number;
  readonly trainable: readonly string[];
  readonly epochsRun: number;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

export interface PhaseResult {
  readonly epochs: readonly EpochMetrics[];
  readonly stages: readonly StageOutcome[];
  readonly test: Evaluation;
  /** Epoch whose weights the model holds at the end (the last stage's best). */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  /** Seconds spent in the optimizer loops (validation included), summed over stages. */
  readonly trainSeconds: number;
  /** Wall time of the whole phase: caches, training, test evaluation. */
  readonly seconds: number;
  readonly cacheTags: Readonly<Record<string, string>>;
  readonly cacheSecondsSaved: number;
}

const stageKey = (key: string, stage: number) => (stage === 1 ? key : `${key}_stage${stage}`);

export async function trainPhase(model: tf.LayersModel, o: PhaseOptions): Promise<PhaseResult> {
  const t0 = o.now();
  const records: StageRecord[] = [];
  let test: Evaluation | undefined;
  const lastEpoch = o.stages.reduce((sum, s) => sum + s.maxEpochs, 0);
  for (const [i, spec] of o.stages.entries()) {
    const stage = i + 1;
    const done = o.resume !== undefined && stage < o.resume.stage ? o.resume.earlierStages[i] : undefined;
    if (done !== undefined) {
      records.push(done);
      continue;
    }
    const resume = o.resume?.stage === stage ? o.resume : undefined;
    applyFreeze(model, o.backbone, spec.plan);
    const inputs = await trainingInputs(model, o.sets, o.input, o.cache);
    try {
      const cacheTags = Object.fromEntries(Object.entries(inputs.cacheTags).map(([k, v]) => [stageKey(k, stage), v]));
      inputs.model.compile({ optimizer: tf.train.adam(spec.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      if (resume !== undefined) await resume.restore(inputs.model);
      const tFit = o.now();
      const before = records.reduce((sum, r) => sum + r.epochs.length, 0);
      const result = await fit(inputs.model, {
        train: inputs.train,
        validation: inputs.validation,
        numClasses: o.numClasses,
        batchSize: o.batchSize,
        maxEpochs: spec.maxEpochs,
        firstEpoch: before,
        stage,
        patience: o.patience,
        seed: o.seed,
        now: o.now,
        onEpoch: (m) => o.onEpoch?.(m, { phase: o.phase, maxEpochs: lastEpoch }),
        onProgress: async (p) =>
          o.onProgress?.({ stage, stageDone: p.done, stageEpochs: p.epochs, earlierStages: records, earlyStop: p.earlyStop, model: inputs.model }),
        ...(resume === undefined ? {} : { resume: resume.fit }),
        ...(o.beforeBatch === undefined ? {} : { beforeBatch: o.beforeBatch }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      });
      resume?.fit.earlyStop?.weights?.forEach((t) => t.dispose());
      records.push({
        outcome: { stage, trainable: [...spec.plan.trainable], epochsRun: result.epochs.length, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly },
        epochs: [...result.epochs],
        trainSeconds: (o.now() - tFit) / 1000,
        cacheSecondsSaved: inputs.savedSeconds(result.epochs.length),
        cacheTags,
      });
      if (stage === o.stages.length) test = await evaluate(inputs.model, inputs.test, o.numClasses, Math.max(o.batchSize, 256));
    } finally {
      inputs.dispose();
    }
  }
  const last = records.at(-1)?.outcome;
  if (test === undefined || last === undefined) throw new Error('trainPhase needs at least one stage');
  return {
    epochs: records.flatMap((r) => r.epochs),
    stages: records.map((r) => r.outcome),
    test,
    bestEpoch: last.bestEpoch,
    stoppedEarly: last.stoppedEarly,
    trainSeconds: records.reduce((sum, r) => sum + r.trainSeconds, 0),
    seconds: (o.now() - t0) / 1000,
    cacheTags: Object.assign({}, ...records.map((r) => r.cacheTags)),
    cacheSecondsSaved: records.reduce((sum, r) => sum + r.cacheSecondsSaved, 0),
  };
}
