/**
 * The adaptation training loop. An epoch is ⌈max(labelled, unlabelled) / batch_size⌉ steps (the
 * smaller set cycles), the same for every method, so source-only and the adaptation methods take
 * the same number of optimizer steps on the same labelled batches. Each step: a batch of every
 * stream (./batches.ts), one Adam step on CE + the method's term (./step-loss.ts; for pseudo-labels
 * the weak view's predictions are first aligned to a uniform class prior, ./class-marginal.ts) over the
 * classifier's trainable weights (and the DANN discriminator's). After each epoch: validation, the
 * mean target prediction entropy, and (reporting only) accuracy on a fixed sample of the target test
 * set. Early stopping and the kept weights follow one selection signal (./selection-plan.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../data/sample.js';
import { evaluate } from '../evaluate.js';
import { setDropoutStep } from '../model/dropout.js';
import { BestWeights } from '../train/early-stop.js';
import type { EpochMetrics } from '../train/fit.js';
import type { BatchSource } from '../train/source.js';
import type { AdaptationMethod } from './adapt-params.js';
import { disposeStep, StepBatches, type StepSources } from './batches.js';
import { ClassMarginal } from './class-marginal.js';
import { buildDomainDiscriminator } from './dann-head.js';
import { dannLambda } from './grl.js';
import { datasetEntropy } from './selection.js';
import { epochReport, type AdaptEpochMetrics, type StepTotals } from './epoch-metrics.js';
import type { SignalName } from './selection-plan.js';
import { minimizeStep, trainableVariables } from './step.js';
import { featureView, STRENGTH, stepLoss, weakPredictions } from './step-loss.js';

export interface AdaptTrainOptions {
  readonly method: AdaptationMethod;
  readonly sources: StepSources;
  /** Examples an epoch covers: the larger of the main labelled set and the unlabelled pool. */
  readonly epochExamples: number;
  readonly validation: BatchSource;
  /** Reporting only: a fixed sample of the target test set, and unlabelled target images for the entropy. */
  readonly targetTestSample: BatchSource;
  readonly entropyImages: BatchSource;
  readonly numClasses: number;
  readonly batchSize: number;
  readonly maxEpochs: number;
  readonly learningRate: number;
  readonly weight: number;
  readonly threshold: number;
  /** Patience in epochs on the selection signal, or undefined for no early stopping. */
  readonly patience: number | undefined;
  readonly selection: SignalName;
  readonly seed: number;
  readonly now: () => number;
  readonly onEpoch?: (metrics: AdaptEpochMetrics) => void | Promise<void>;
  readonly signal?: AbortSignal;
}

export interface AdaptTrainResult {
  readonly epochs: readonly AdaptEpochMetrics[];
  /** The epoch whose weights the model holds at the end. */
  readonly selectedEpoch: number;
  readonly stoppedEarly: boolean;
  readonly trainSeconds: number;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The value of the selection signal in an epoch's metrics (lower is better for all of them). */
export function signalValue(m: AdaptEpochMetrics, name: SignalName): number {
  return name === 'target_entropy' ? m.target_entropy : m.val_loss;
}

export async function trainAdaptation(model: tf.LayersModel, o: AdaptTrainOptions): Promise<AdaptTrainResult> {
  const started = o.now();
  const view = featureView(model);
  const featureSize = model.getLayer('fc1').outputShape;
  const units = Array.isArray(featureSize) ? featureSize[1] : undefined;
  const discriminator = o.method === 'dann'
    ? buildDomainDiscriminator(typeof units === 'number' ? units : 0, { seed: deriveSeed(o.seed, 0xd0) })
    : undefined;
  const variables = trainableVariables(model, ...(discriminator === undefined ? [] : [discriminator]));
  const optimizer = tf.train.adam(o.learningRate);
  const batches = new StepBatches(o.sources, o.batchSize, o.numClasses, deriveSeed(o.seed, 0xada));
  const stepsPerEpoch = Math.max(1, Math.ceil(o.epochExamples / o.batchSize));
  const totalSteps = stepsPerEpoch * o.maxEpochs;
  const best = o.patience === undefined ? undefined : new BestWeights(model, o.patience);
  const marginal = o.method === 'pseudo_label' ? new ClassMarginal(o.numClasses) : undefined;
  const epochs: AdaptEpochMetrics[] = [];
  let stoppedEarly = false;
  try {
    for (let epoch = 0; epoch < o.maxEpochs; epoch++) {
      const t0 = o.now();
      const totals: StepTotals = { steps: 0, loss: 0, classLoss: 0, accuracy: 0, domainLoss: 0, domainAccuracy: 0, coral: 0, selected: 0, selectedCorrect: 0, unlabelled: 0, lambda: 0 };
      for (let step = 0; step < stepsPerEpoch; step++) {
        await yieldToEventLoop();
        o.signal?.throwIfAborted();
        const global = epoch * stepsPerEpoch + step;
        const lambda = o.method === 'dann' ? STRENGTH.dann * o.weight * dannLambda(global / totalSteps) : 0;
        const batch = batches.next(deriveSeed(o.seed, 0x40000 + global));
        setDropoutStep(model, deriveSeed(o.seed, 0x50000 + global));
        const raw = weakPredictions(view, batch);
        const weak = raw === undefined || marginal === undefined ? raw : marginal.align(raw);
        if (weak !== raw) raw?.dispose();
        const step_ = stepLoss(view, batch, { method: o.method, weight: o.weight, lambda, threshold: o.threshold, discriminator }, weak);
        try {
          const loss = await minimizeStep(optimizer, step_.loss, variables);
          const r = await step_.report();
          totals.steps++;
          totals.loss += loss;
          totals.classLoss += r.classLoss;
          totals.accuracy += r.accuracy;
          totals.domainLoss += r.domainLoss;
          totals.domainAccuracy += r.domainAccuracy;
          totals.coral += r.coral;
          totals.selected += r.selected;
          totals.selectedCorrect += r.selectedCorrect;
          totals.unlabelled += batch.truth.length;
          totals.lambda += lambda;
        } finally {
          step_.release();
          weak?.dispose();
          disposeStep(batch);
        }
      }
      const evalBatch = Math.max(o.batchSize, 256);
      const val = await evaluate(model, o.validation, o.numClasses, evalBatch);
      const targetTest = await evaluate(model, o.targetTestSample, o.numClasses, evalBatch);
      const entropy = await datasetEntropy(model, o.entropyImages, evalBatch);
      const ended = o.now();
      const base: EpochMetrics = {
        epoch, stage: 1, loss: totals.loss / totals.steps, accuracy: totals.accuracy / totals.steps,
        val_loss: val.loss, val_accuracy: val.accuracy, epoch_seconds: (ended - t0) / 1000, time: ended,
      };
      const metrics = epochReport(o.method, base, totals, { targetEntropy: entropy, targetTestAccuracy: targetTest.accuracy });
      epochs.push(metrics);
      await o.onEpoch?.(metrics);
      if (best?.update(epoch, signalValue(metrics, o.selection))) {
        stoppedEarly = true;
        break;
      }
    }
    best?.restore();
    // no finite signal value in any epoch: nothing was saved, the model holds the last epoch
    const selectedEpoch = best === undefined || best.bestEpoch < 0 ? epochs.length - 1 : best.bestEpoch;
    return { epochs, selectedEpoch, stoppedEarly, trainSeconds: (o.now() - started) / 1000 };
  } finally {
    best?.dispose();
    marginal?.dispose();
    optimizer.dispose();
    discriminator?.dispose();
  }
}
