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
import { applyFreeze, type FreezePlan } from '../model/freeze.js';
import type { InputSpec } from '../model/input.js';
import { fit, type EpochMetrics } from './fit.js';
import { trainingInputs, type CacheSettings } from './inputs.js';

export interface StageSpec {
  readonly plan: FreezePlan;
  readonly learningRate: number;
  readonly maxEpochs: number;
}

export interface PhaseOptions {
  readonly phase: Phase;
  readonly stages: readonly StageSpec[];
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
  readonly signal?: AbortSignal;
}

export interface StageOutcome {
  readonly stage: number;
  readonly trainableConv: readonly string[];
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
  const epochs: EpochMetrics[] = [];
  const stages: StageOutcome[] = [];
  const cacheTags: Record<string, string> = {};
  let trainSeconds = 0;
  let saved = 0;
  let test: Evaluation | undefined;
  const lastEpoch = o.stages.reduce((sum, s) => sum + s.maxEpochs, 0);
  for (const [i, spec] of o.stages.entries()) {
    const stage = i + 1;
    applyFreeze(model, spec.plan);
    const inputs = await trainingInputs(model, spec.plan, o.sets, o.input, o.cache);
    try {
      for (const [k, v] of Object.entries(inputs.cacheTags)) cacheTags[stageKey(k, stage)] = v;
      inputs.model.compile({ optimizer: tf.train.adam(spec.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      const tFit = o.now();
      const result = await fit(inputs.model, {
        train: inputs.train,
        validation: inputs.validation,
        numClasses: o.numClasses,
        batchSize: o.batchSize,
        maxEpochs: spec.maxEpochs,
        firstEpoch: epochs.length,
        stage,
        patience: o.patience,
        seed: o.seed,
        now: o.now,
        onEpoch: (m) => o.onEpoch?.(m, { phase: o.phase, maxEpochs: lastEpoch }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      });
      trainSeconds += (o.now() - tFit) / 1000;
      saved += inputs.savedSeconds(result.epochs.length);
      epochs.push(...result.epochs);
      stages.push({ stage, trainableConv: spec.plan.trainableConv, epochsRun: result.epochs.length, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly });
      if (stage === o.stages.length) test = await evaluate(inputs.model, inputs.test, o.numClasses, Math.max(o.batchSize, 256));
    } finally {
      inputs.dispose();
    }
  }
  const last = stages.at(-1);
  if (test === undefined || last === undefined) throw new Error('trainPhase needs at least one stage');
  return {
    epochs,
    stages,
    test,
    bestEpoch: last.bestEpoch,
    stoppedEarly: last.stoppedEarly,
    trainSeconds,
    seconds: (o.now() - t0) / 1000,
    cacheTags,
    cacheSecondsSaved: saved,
  };
}
