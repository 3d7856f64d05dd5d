/**
 * The training loop: seeded shuffling, one optimizer step per batch, validation after every epoch,
 * early stopping with best weights. Emits one event per epoch; knows nothing of MLflow.
 */
import type * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../errors.js';
import { labelAt } from '../data/checked.js';
import { deriveSeed, epochOrder } from '../data/sample.js';
import { evaluate, type Evaluation } from '../evaluate.js';
import { setDropoutStep } from '../model/dropout.js';
import type { Progress, ProgressTask } from '../progress.js';
import { BestWeights, type EarlyStopState } from './early-stop.js';
import { outOfMemory, reportingOutOfMemory } from './oom.js';
import { batchRanges, type BatchSource } from './source.js';
import { batchStep, type BatchStep, type ChosenStep } from './batch-step.js';
import { yieldToEventLoop } from '../event-loop.js';

/** A type, not an interface, so checkpoints (which keep a step's own numbers too) can hold it as a record. */
export type EpochMetrics = {
  /** 0-based, used as the MLflow step; continues across stages. */
  readonly epoch: number;
  /** 1 = the run's first training stage, 2 = fine-tuning after feature extraction. */
  readonly stage: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
  readonly epoch_seconds: number;
  /** When the epoch ended (ms since 1970): the metric points' timestamp, kept for resumed runs. */
  readonly time: number;
};

/** Where a fit stands after an epoch: what a checkpoint needs to continue it exactly. */
export interface FitProgress {
  /** This fit's epochs so far. */
  readonly epochs: readonly EpochMetrics[];
  /** True when no more epochs will run (early stop or the last epoch). */
  readonly done: boolean;
  readonly earlyStop: EarlyStopState | undefined;
  /** Tags the stage's result carries (the ridge probe's λ and temperature), kept for a resume after it is done. */
  readonly tags?: Readonly<Record<string, string>>;
}

/** A fit continued from a checkpoint: its epochs so far and early-stopping state. */
export interface FitResume {
  readonly epochs: readonly EpochMetrics[];
  readonly done: boolean;
  readonly earlyStop: EarlyStopState | undefined;
  readonly tags?: Readonly<Record<string, string>>;
}

export interface FitOptions {
  readonly train: BatchSource;
  readonly validation: BatchSource;
  readonly numClasses: number;
  readonly batchSize: number;
  readonly maxEpochs: number;
  /** Global index of this fit's first epoch (a later stage continues the run's epoch count). */
  readonly firstEpoch?: number;
  readonly stage?: number;
  /** Patience in epochs on validation loss, or undefined for no early stopping. */
  readonly patience: number | undefined;
  readonly seed: number;
  readonly now: () => number;
  readonly onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  /** Called after each epoch, before `onEpoch`: the checkpoint hook. */
  readonly onProgress?: (progress: FitProgress) => Promise<void>;
  readonly resume?: FitResume;
  /** Test hook before each batch (fault injection, src/faults.ts); 0-based epoch and batch. */
  readonly beforeBatch?: (model: tf.LayersModel, epoch: number, batch: number) => void;
  readonly signal?: AbortSignal;
  /** A bar per epoch over its training and validation images; `label` names the epoch. */
  readonly progress?: { readonly to: Progress; readonly label: (epoch: number) => string };
}

export interface FitResult {
  readonly epochs: readonly EpochMetrics[];
  /** The batch step that trained (./batch-step.ts): `dense` or `trainOnBatch`; absent when no epoch ran. */
  readonly batchStep?: ChosenStep['kind'];
  /** Epoch whose weights the model holds at the end. */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

export { outOfMemory } from './oom.js';

async function trainEpoch(model: tf.LayersModel, step: BatchStep, o: FitOptions, epoch: number, task: ProgressTask | undefined) {
  const order = epochOrder(o.train.count, o.seed, epoch);
  let lossSum = 0;
  let accSum = 0;
  const epochSeed = deriveSeed(o.seed, 0x20000 + epoch);
  let batchNo = 0;
  for (const [start, end] of batchRanges(order.length, o.batchSize)) {
    // tfjs-node's ops resolve as microtasks: without this, signals, timers and the tracking
    // layer's background requests would wait for the whole run.
    await yieldToEventLoop();
    o.signal?.throwIfAborted();
    const indices = order.subarray(start, end);
    o.beforeBatch?.(model, epoch, batchNo);
    const batchSeed = deriveSeed(epochSeed, batchNo++);
    setDropoutStep(model, batchSeed);
    const labels = Int32Array.from(indices, (i) => labelAt(o.train.labels, i, o.numClasses, 'training batch'));
    const x = o.train.batch(indices, batchSeed);
    try {
      const { loss, accuracy: acc } = await step(x, labels).catch((error: unknown) => {
        throw outOfMemory(error, o.batchSize) ?? error;
      });
      if (!Number.isFinite(loss)) {
        throw new TrainingError(`Loss became ${loss} in epoch ${epoch + 1} (batch at example ${start}); lower learning_rate or check the input data`);
      }
      lossSum += loss * (end - start);
      accSum += acc * (end - start);
      task?.advance(end - start);
    } finally {
      x.dispose();
    }
  }
  return { loss: lossSum / order.length, accuracy: accSum / order.length };
}

export async function fit(model: tf.LayersModel, o: FitOptions): Promise<FitResult> {
  const epochs: EpochMetrics[] = [...(o.resume?.epochs ?? [])];
  const best = o.patience === undefined ? undefined : new BestWeights(model, o.patience, o.resume?.earlyStop);
  let stoppedEarly = o.resume?.done === true && best?.exhausted === true;
  const chosen = batchStep(model, o.numClasses);
  let trainedWith: ChosenStep['kind'] | undefined;
  try {
    const first = o.firstEpoch ?? 0;
    const resumed = o.resume?.done === true ? o.maxEpochs : epochs.length;
    for (let epoch = first + resumed; epoch < first + o.maxEpochs; epoch++) {
      const started = o.now();
      const task = o.progress?.to.start(o.progress.label(epoch), o.train.count + o.validation.count, 'images');
      let trained: { loss: number; accuracy: number };
      let val: Evaluation;
      try {
        trained = await trainEpoch(model, chosen.step, o, epoch, task);
        trainedWith = chosen.kind;
        val = await reportingOutOfMemory(() => evaluate(model, o.validation, o.numClasses, o.batchSize, task), o.batchSize, 'evaluating the validation set');
      } finally {
        task?.end();
      }
      const ended = o.now();
      const metrics: EpochMetrics = {
        epoch,
        stage: o.stage ?? 1,
        loss: trained.loss,
        accuracy: trained.accuracy,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        epoch_seconds: (ended - started) / 1000,
        time: ended,
      };
      epochs.push(metrics);
      stoppedEarly = best?.update(epoch, val.loss) === true;
      const done = stoppedEarly || epoch === first + o.maxEpochs - 1;
      await o.onProgress?.({ epochs, done, earlyStop: best?.state });
      await o.onEpoch?.(metrics);
      if (stoppedEarly) break;
    }
    best?.restore();
    return { epochs, bestEpoch: best?.bestEpoch ?? first + epochs.length - 1, stoppedEarly, ...(trainedWith === undefined ? {} : { batchStep: trainedWith }) };
  } finally {
    best?.dispose();
  }
}
