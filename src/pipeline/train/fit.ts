/**
 * The training loop: seeded shuffling, one optimizer step per batch, validation after every epoch,
 * early stopping with best weights. Emits one event per epoch; knows nothing of MLflow.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../errors.js';
import { deriveSeed, epochOrder } from '../data/sample.js';
import { evaluate } from '../evaluate.js';
import { setDropoutStep } from '../model/dropout.js';
import { BestWeights } from './early-stop.js';
import { batchRanges, type BatchSource } from './source.js';

export interface EpochMetrics {
  /** 0-based, used as the MLflow step; continues across stages. */
  readonly epoch: number;
  /** 1 = the run's first training stage, 2 = fine-tuning after feature extraction. */
  readonly stage: number;
  readonly loss: number;
  readonly accuracy: number;
  readonly val_loss: number;
  readonly val_accuracy: number;
  readonly epoch_seconds: number;
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
  readonly signal?: AbortSignal;
}

export interface FitResult {
  readonly epochs: readonly EpochMetrics[];
  /** Epoch whose weights the model holds at the end. */
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function trainEpoch(model: tf.LayersModel, o: FitOptions, epoch: number) {
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
    const batchSeed = deriveSeed(epochSeed, batchNo++);
    setDropoutStep(model, batchSeed);
    const x = o.train.batch(indices, batchSeed);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(indices, (i) => o.train.labels[i] ?? 0), 'int32'), o.numClasses));
    try {
      const out = await model.trainOnBatch(x, y);
      const [loss = Number.NaN, acc = Number.NaN] = Array.isArray(out) ? out : [out];
      if (!Number.isFinite(loss)) {
        throw new TrainingError(`Loss became ${loss} in epoch ${epoch + 1} (batch at example ${start}); lower learning_rate or check the input data`);
      }
      lossSum += loss * (end - start);
      accSum += acc * (end - start);
    } finally {
      x.dispose();
      y.dispose();
    }
  }
  return { loss: lossSum / order.length, accuracy: accSum / order.length };
}

export async function fit(model: tf.LayersModel, o: FitOptions): Promise<FitResult> {
  const epochs: EpochMetrics[] = [];
  const best = o.patience === undefined ? undefined : new BestWeights(model, o.patience);
  let stoppedEarly = false;
  try {
    const first = o.firstEpoch ?? 0;
    for (let epoch = first; epoch < first + o.maxEpochs; epoch++) {
      const started = o.now();
      const trained = await trainEpoch(model, o, epoch);
      const val = await evaluate(model, o.validation, o.numClasses, Math.max(o.batchSize, 256));
      const metrics: EpochMetrics = {
        epoch,
        stage: o.stage ?? 1,
        loss: trained.loss,
        accuracy: trained.accuracy,
        val_loss: val.loss,
        val_accuracy: val.accuracy,
        epoch_seconds: (o.now() - started) / 1000,
      };
      epochs.push(metrics);
      await o.onEpoch?.(metrics);
      if (best?.update(epoch, val.loss)) {
        stoppedEarly = true;
        break;
      }
    }
    best?.restore();
    return { epochs, bestEpoch: best?.bestEpoch ?? first + epochs.length - 1, stoppedEarly };
  } finally {
    best?.dispose();
  }
}
