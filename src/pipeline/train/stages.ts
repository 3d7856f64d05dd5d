/**
 * Trains one model through its stages and evaluates it on the test set. Stage 1 trains what its
 * freeze plan leaves trainable (the head, plus any retrained conv layers); an optional stage 2
 * unfreezes more layers and continues at a smaller learning rate (feature extraction, then
 * fine-tuning). Each stage has its own optimizer and activation cache cut; the epoch count continues
 * across stages. Early stopping carries across them: a later stage starts from the best validation
 * loss and weights so far, so when fine-tuning never beats stage 1's best, the model ends with stage
 * 1's best weights (the stage's `bestEpoch` then lies before its first epoch, and the summary says so).
 */
import * as tf from '@tensorflow/tfjs';
import { evaluate, type Evaluation } from '../evaluate.js';
import type { EpochContext, Phase } from '../events.js';
import type { BackboneSpec } from '../model/backbones.js';
import { applyFreeze, type FreezePlan } from '../model/freeze.js';
import type { InputSpec } from '../model/input.js';
import { withProgress, type Progress } from '../progress.js';
import type { RawTensor } from '../checkpoint/format.js';
import type { StageRecord } from '../checkpoint/state.js';
import { carriedBest, type EarlyStopState } from './early-stop.js';
import type { EpochMetrics, FitResume } from './fit.js';
import { anchorToStart } from './l2sp.js';
import { stageOptimizer } from './scaled-adam.js';
import { backboneLayers } from '../model/build.js';
import { ttaSource, type TtaMode } from '../tta.js';
import { reportingOutOfMemory } from './oom.js';
import { phaseInputs, type CacheSettings, type PhaseSets } from './inputs.js';
import { sourceOf } from './source.js';
import { adaptAfterTraining, type AdabnPlan } from './domain-bn.js';
import { resumeStep, stepOf, type TrainingStep } from './steps.js';

export interface StageSpec {
  readonly plan: FreezePlan;
  readonly learningRate: number;
  readonly maxEpochs: number;
  /** `ridge`: the head is solved in closed form (train/probe.ts) instead of trained; default Adam. */
  readonly solver?: 'adam' | 'ridge';
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
  /** Discriminative learning rates (scaled-adam.ts): the backbone's = the stage's × this (default 1). */
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

const stageKey = (key: string, stage: number) => (stage === 1 ? key : `${key}_stage${stage}`);

/** "epoch 3/20", "stage 2 epoch 9/20", "source epoch 1/3": as the epoch's log line says it. */
export function epochLabel(phase: Phase, stage: number, epoch: number, lastEpoch: number): string {
  const prefix = phase === 'target' ? (stage > 1 ? `stage ${stage} ` : '') : `${phase} `;
  return `${prefix}epoch ${epoch + 1}/${lastEpoch}`;
}

export async function trainPhase(model: tf.LayersModel, o: PhaseOptions): Promise<PhaseResult> {
  const anchor = o.l2spWeight === undefined || o.l2spWeight === 0 ? undefined : anchorToStart(model, o.backbone, o.l2spWeight);
  try {
    return await trainStages(model, o);
  } finally {
    anchor?.dispose();
  }
}

async function trainStages(model: tf.LayersModel, o: PhaseOptions): Promise<PhaseResult> {
  const t0 = o.now();
  const records: StageRecord[] = [];
  let test: Evaluation | undefined;
  const otherTests: Record<string, Evaluation> = {};
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
    const inputs = await phaseInputs(model, o.sets, o.input, o.progress === undefined ? o.cache : { ...o.cache, progress: o.progress }, o.adabn);
    try {
      const cacheTags = Object.fromEntries(Object.entries(inputs.cacheTags).map(([k, v]) => [stageKey(k, stage), v]));
      const backboneWeights = () => backboneLayers(model, o.backbone).flatMap(({ layer }) => layer.weights);
      const optimizer = stageOptimizer(backboneWeights, spec.learningRate, o.backboneLrFactor ?? 1);
      inputs.model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
      // after the ridge probe, early stopping starts afresh: the probe's validation loss chose λ and the temperature, no fair bar
      const afterProbe = o.stages[i - 1]?.solver === 'ridge';
      const carried = resume === undefined && o.patience !== undefined && !afterProbe ? carriedBest(records.at(-1), inputs.model) : undefined;
      const stepResume = resumeStep(resume, carried);
      const tFit = o.now();
      const before = records.reduce((sum, r) => sum + r.epochs.length, 0);
      const result = await stepOf(spec, o.cache.logger).fit(inputs.model, {
        sources: inputs.sources,
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
          o.onProgress?.({ stage, stageDone: p.done, stageEpochs: p.epochs, earlierStages: records, earlyStop: p.earlyStop, stageTags: p.tags ?? {}, model: inputs.model, stepState: p.state }),
        ...(stepResume === undefined ? {} : { resume: stepResume }),
        ...(o.beforeBatch === undefined ? {} : { beforeBatch: o.beforeBatch }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.progress === undefined ? {} : { progress: { to: o.progress, label: (epoch: number) => epochLabel(o.phase, stage, epoch, lastEpoch) } }),
      });
      stepResume?.earlyStop?.weights?.forEach((t) => t.dispose());
      records.push({
        outcome: { stage, trainable: [...spec.plan.trainable], epochsRun: result.epochs.length, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly },
        epochs: [...result.epochs],
        trainSeconds: (o.now() - tFit) / 1000,
        cacheSecondsSaved: inputs.savedSeconds(result.epochs.length),
        cacheTags: { ...cacheTags, ...result.tags },
      });
      if (stage === o.stages.length) {
        const evaluateSet = (name: string, tta?: Exclude<TtaMode, 'none'>) => {
          const set = o.sets[name]?.set;
          if (set === undefined) throw new Error(`the phase has no ${name} set`);
          // test-time augmentation: the views of the images through the whole classifier
          const [m, source] = tta === undefined ? [inputs.model, sourceOf(inputs.sources, name)] : [model, ttaSource(set, o.input, tta)];
          const label = `${o.phase === 'target' ? '' : `${o.phase} `}${name.replace('_', ' ')} set`;
          return withProgress(o.progress, { label, total: source.count, unit: 'images' }, (task) =>
            reportingOutOfMemory(() => evaluate(m, source, o.numClasses, o.batchSize, task), o.batchSize, `evaluating the ${name} set`),
          );
        };
        if (o.adabn !== undefined) {
          for (const name of o.alsoEvaluate ?? []) otherTests[name] = await evaluateSet(name);
          const tags = await adaptAfterTraining(model, inputs.domain?.statistics, o.adabn, o.input, { batchSize: o.batchSize, memoryBudgetBytes: o.cache.memoryBudgetBytes });
          const record = records.pop();
          if (record !== undefined) records.push({ ...record, cacheTags: { ...record.cacheTags, ...tags } });
        }
        test = await evaluateSet('test', o.tta === undefined || o.tta === 'none' ? undefined : o.tta);
        if (o.adabn === undefined) for (const name of o.alsoEvaluate ?? []) otherTests[name] = await evaluateSet(name);
      }
    } finally {
      inputs.model.optimizer?.dispose(); // a stage's optimizer: passed to compile, so the model does not own it
      inputs.dispose();
    }
  }
  const last = records.at(-1)?.outcome;
  if (test === undefined || last === undefined) throw new Error('trainPhase needs at least one stage');
  return {
    epochs: records.flatMap((r) => r.epochs),
    stages: records.map((r) => r.outcome),
    test,
    ...(Object.keys(otherTests).length === 0 ? {} : { otherTests }),
    bestEpoch: last.bestEpoch,
    stoppedEarly: last.stoppedEarly,
    trainSeconds: records.reduce((sum, r) => sum + r.trainSeconds, 0),
    seconds: (o.now() - t0) / 1000,
    cacheTags: Object.assign({}, ...records.map((r) => r.cacheTags)),
    cacheSecondsSaved: records.reduce((sum, r) => sum + r.cacheSecondsSaved, 0),
  };
}
