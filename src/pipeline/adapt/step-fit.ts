/**
 * The adaptation step: a kind of training step (../train/steps.ts) that the phase pipeline runs,
 * checkpoints and resumes like the supervised one. An epoch is ⌈max(labelled, unlabelled) /
 * batch_size⌉ steps (the smaller set cycles), the same for every method, so source-only and the
 * adaptation methods take the same number of optimizer steps on the same labelled batches. Each step:
 * a batch of every stream (./batches.ts), one Adam step (the compiled model's optimizer) on CE + the
 * method's term (./step-loss.ts; for pseudo-labels the weak view's predictions are first aligned to
 * a uniform class prior, ./class-marginal.ts) over the classifier's trainable weights (and the DANN
 * discriminator's). After each epoch: validation, the mean target prediction entropy, and (reporting
 * only) accuracy on a fixed sample of the target test set. Early stopping and the kept weights follow
 * the selection signal (./selection-plan.ts: a validation loss, so `val_loss`).
 * The streams are the phase's sets `source`, `targetLabelled`, `unlabelled`, `weak`; `validation`,
 * `test` and `entropy` are read for the epoch report. With the activation cache, the model is the
 * trainable suffix and the sets its cached inputs: the features aligned (`fc1`) are in the suffix.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed, mulberry32, permutation } from '../data/sample.js';
import { evaluate } from '../evaluate.js';
import { setDropoutStep } from '../model/dropout.js';
import { BestWeights } from '../train/early-stop.js';
import type { EpochMetrics, FitResult } from '../train/fit.js';
import { outOfMemory, reportingOutOfMemory } from '../train/oom.js';
import type { StepContext, TrainingStep } from '../train/steps.js';
import { sourceOf, type BatchSource } from '../train/source.js';
import type { AdaptationMethod } from './adapt-params.js';
import { disposeStep, StepBatches, type StepSources } from './batches.js';
import { ClassMarginal } from './class-marginal.js';
import { buildDomainDiscriminator } from './dann-head.js';
import { epochReport, type AdaptEpochMetrics, type StepTotals } from './epoch-metrics.js';
import { dannLambda } from './grl.js';
import { datasetEntropy } from './selection.js';
import { minimizeStep, trainableVariables } from './step.js';
import { featureView, STRENGTH, stepLoss, weakPredictions } from './step-loss.js';
import { restoreStepState, stepState } from './step-state.js';
import { yieldToEventLoop } from '../event-loop.js';

/** Per-epoch reports (target test accuracy, target entropy) use at most this many images each. */
export const REPORT_SAMPLE = 2000;

export interface AdaptStepSettings {
  readonly method: AdaptationMethod;
  readonly weight: number;
  readonly threshold: number;
  /** Examples an epoch covers: the larger of the main labelled set and the unlabelled pool. */
  readonly epochExamples: number;
}

const STREAMS = ['source', 'targetLabelled', 'unlabelled', 'weak'] as const;

/** At most REPORT_SAMPLE examples of `source`, a fixed draw (the same in every run and epoch). */
export function reportSample(source: BatchSource, seed: number): BatchSource {
  if (source.count <= REPORT_SAMPLE) return source;
  const picked = Int32Array.from(permutation(source.count, mulberry32(seed)).subarray(0, REPORT_SAMPLE)).sort();
  return { count: picked.length, labels: Int32Array.from(picked, (i) => source.labels[i] ?? -1), batch: (indices, s) => source.batch(Int32Array.from(indices, (i) => picked[i] ?? -1), s) };
}

function zeroTotals(): StepTotals {
  return { steps: 0, loss: 0, classLoss: 0, accuracy: 0, domainLoss: 0, domainAccuracy: 0, coral: 0, selected: 0, selectedCorrect: 0, unlabelled: 0, lambda: 0 };
}

async function fitAdaptation(model: tf.LayersModel, s: AdaptStepSettings, c: StepContext): Promise<FitResult> {
  const optimizer = model.optimizer;
  if (optimizer === undefined) throw new Error('the adaptation step needs a compiled model');
  const view = featureView(model);
  const units = view.outputs[0]?.shape[1];
  const discriminator = s.method === 'dann' ? buildDomainDiscriminator(typeof units === 'number' ? units : 0, { seed: deriveSeed(c.seed, 0xd0) }) : undefined;
  const marginal = s.method === 'pseudo_label' ? new ClassMarginal(c.numClasses) : undefined;
  const best = c.patience === undefined ? undefined : new BestWeights(model, c.patience, c.resume?.earlyStop);
  try {
    if (c.resume !== undefined) {
      await c.resume.restore(model, discriminator?.trainableWeights.map((w) => w.shape.map((d) => d ?? 0)) ?? []);
      restoreStepState(c.resume.state, discriminator, marginal);
    }
    const variables = trainableVariables(model, ...(discriminator === undefined ? [] : [discriminator]));
    const streams: StepSources = Object.fromEntries(STREAMS.flatMap((k) => (c.sources[k] === undefined ? [] : [[k, c.sources[k]]])));
    const batches = new StepBatches(streams, c.batchSize, c.numClasses, deriveSeed(c.seed, 0xada));
    const validation = sourceOf(c.sources, 'validation');
    const testSample = reportSample(sourceOf(c.sources, 'test'), deriveSeed(c.seed, 0x7e57));
    const entropyImages = sourceOf(c.sources, 'entropy');
    const stepsPerEpoch = Math.max(1, Math.ceil(s.epochExamples / c.batchSize));
    const totalSteps = stepsPerEpoch * c.maxEpochs;
    const epochs: EpochMetrics[] = [...(c.resume?.epochs ?? [])];
    const first = c.firstEpoch ?? 0;
    const startAt = c.resume?.done === true ? c.maxEpochs : epochs.length;
    batches.skip(startAt * stepsPerEpoch);
    let stoppedEarly = c.resume?.done === true && best?.exhausted === true;
    for (let local = startAt; local < c.maxEpochs; local++) {
      const epoch = first + local;
      const t0 = c.now();
      const totals = zeroTotals();
      const task = c.progress?.to.start(c.progress.label(epoch), stepsPerEpoch * batches.rowsPerStep + validation.count, 'images');
      try {
        for (let step = 0; step < stepsPerEpoch; step++) {
          await yieldToEventLoop();
          c.signal?.throwIfAborted();
          c.beforeBatch?.(model, epoch, step);
          const global = local * stepsPerEpoch + step;
          const lambda = s.method === 'dann' ? STRENGTH.dann * s.weight * dannLambda(global / totalSteps) : 0;
          const batch = batches.next(deriveSeed(c.seed, 0x40000 + global));
          setDropoutStep(model, deriveSeed(c.seed, 0x50000 + global));
          const raw = weakPredictions(view, batch);
          const weak = raw === undefined || marginal === undefined ? raw : marginal.align(raw);
          if (weak !== raw) raw?.dispose();
          const loss = stepLoss(view, batch, { method: s.method, weight: s.weight, lambda, threshold: s.threshold, discriminator }, weak);
          try {
            const value = await minimizeStep(optimizer, loss.loss, variables).catch((error: unknown) => {
              throw outOfMemory(error, c.batchSize) ?? error;
            });
            const r = await loss.report();
            totals.steps++;
            totals.loss += value;
            totals.classLoss += r.classLoss;
            totals.accuracy += r.accuracy;
            totals.domainLoss += r.domainLoss;
            totals.domainAccuracy += r.domainAccuracy;
            totals.coral += r.coral;
            totals.selected += r.selected;
            totals.selectedCorrect += r.selectedCorrect;
            totals.unlabelled += batch.truth.length;
            totals.lambda += lambda;
            task?.advance(batch.x.shape[0]);
          } finally {
            loss.release();
            weak?.dispose();
            disposeStep(batch);
          }
        }
        const report = async () => ({
          val: await evaluate(model, validation, c.numClasses, c.batchSize, task),
          targetTest: await evaluate(model, testSample, c.numClasses, c.batchSize),
          entropy: await datasetEntropy(model, entropyImages, c.batchSize),
        });
        const { val, targetTest, entropy } = await reportingOutOfMemory(report, c.batchSize, 'evaluating the validation and report sets');
        const ended = c.now();
        const base: EpochMetrics = {
          epoch, stage: c.stage ?? 1, loss: totals.loss / totals.steps, accuracy: totals.accuracy / totals.steps,
          val_loss: val.loss, val_accuracy: val.accuracy, epoch_seconds: (ended - t0) / 1000, time: ended,
        };
        const metrics: AdaptEpochMetrics = epochReport(s.method, base, totals, { targetEntropy: entropy, targetTestAccuracy: targetTest.accuracy });
        epochs.push(metrics);
        stoppedEarly = best?.update(epoch, metrics.val_loss) === true;
        const done = stoppedEarly || local === c.maxEpochs - 1;
        await c.onProgress?.({ epochs, done, earlyStop: best?.state, state: await stepState(discriminator, marginal) });
        await c.onEpoch?.(metrics);
        if (stoppedEarly) break;
      } finally {
        task?.end();
      }
    }
    best?.restore();
    // no finite validation loss in any epoch: nothing was kept, the model holds the last epoch
    const last = first + epochs.length - 1;
    return { epochs, bestEpoch: best === undefined || best.bestEpoch < 0 ? last : best.bestEpoch, stoppedEarly };
  } finally {
    best?.dispose();
    marginal?.dispose();
    discriminator?.dispose();
  }
}

export function adaptationStep(settings: AdaptStepSettings): TrainingStep {
  return { kind: `adaptation:${settings.method}`, fit: (model, context) => fitAdaptation(model, settings, context) };
}
