/**
 * A training stage solved instead of trained (`head_solver=ridge`): the linear probe. Everything but
 * the final Dense softmax layer is frozen, so the model is fixed features → Dense; the features of
 * the training and validation sets (the cached pooled activations when the cache is on) are read
 * once, ridge.ts solves the Dense layer in closed form with λ chosen on validation, by leave-one-out, or from its prior (ridge-choice.ts), and the solution
 * (scaled by the fitted temperature) is written into the layer. The model stays an ordinary model:
 * export, predict and MLflow Models see a Dense softmax layer. The stage counts as one epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { InternalError, TrainingError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { labelAt } from '../data/checked.js';
import { evaluate } from '../evaluate.js';
import type { EpochMetrics, FitProgress, FitResult, FitResume } from './fit.js';
import type { Features } from './ridge.js';
import { chooseRidge, type ProbeChoice } from './ridge-choice.js';
import { batchRanges, type BatchSource } from './source.js';

/** The model's last layer when it is a Dense softmax layer and the only one that trains. */
function probeLayer(model: tf.LayersModel): { readonly layer: tf.layers.Layer; readonly features: tf.SymbolicTensor } {
  const out = model.outputs[0];
  const layer = out?.sourceLayer;
  const config = layer?.getConfig();
  if (out === undefined || layer === undefined || layer.getClassName() !== 'Dense' || config?.['activation'] !== 'softmax') {
    throw new InternalError(`the linear probe needs a model ending in a Dense softmax layer; ${model.name} ends in ${layer?.name ?? 'nothing'}`);
  }
  const others = model.trainableWeights.filter((w) => !layer.trainableWeights.includes(w));
  if (others.length > 0) {
    throw new TrainingError(`The linear probe solves only the last Dense layer, but ${others.map((w) => w.name).join(', ')} also train; use head=linear with retrained_blocks=0 and retrained_conv_layers=0`);
  }
  const features = layer.inboundNodes[out.nodeIndex]?.inputTensors[0];
  if (features === undefined) throw new InternalError(`layer ${layer.name} has no input in ${model.name}`);
  return { layer, features };
}

/** The features of every example of `source` (unaugmented) through `extract`, with their labels. */
async function readFeatures(source: BatchSource, extract: (x: tf.Tensor) => tf.Tensor, numClasses: number, batchSize: number): Promise<Features> {
  const all = Int32Array.from({ length: source.count }, (_, i) => i);
  const parts: Float32Array[] = [];
  let dim = 0;
  for (const [start, end] of batchRanges(source.count, batchSize)) {
    const y = tf.tidy(() => extract(source.batch(all.subarray(start, end))));
    dim = y.shape.slice(1).reduce((a, b) => a * b, 1);
    const data = await y.data();
    y.dispose();
    if (!(data instanceof Float32Array)) throw new InternalError('features are not float32');
    parts.push(data);
  }
  const values = new Float32Array(source.count * dim);
  let offset = 0;
  for (const p of parts) {
    values.set(p, offset);
    offset += p.length;
  }
  const labels = Int32Array.from({ length: source.count }, (_, i) => labelAt(source.labels, i, numClasses, 'linear probe'));
  return { values, labels, count: source.count, dim };
}

/** Both sets' features as one training set, and no validation set (λ by leave-one-out). */
function pooled(train: Features, validation: Features): [Features, Features] {
  const values = new Float32Array((train.count + validation.count) * train.dim);
  values.set(train.values);
  values.set(validation.values, train.values.length);
  const labels = new Int32Array(train.count + validation.count);
  labels.set(train.labels);
  labels.set(validation.labels, train.count);
  const none: Features = { values: new Float32Array(0), labels: new Int32Array(0), count: 0, dim: train.dim };
  return [{ values, labels, count: train.count + validation.count, dim: train.dim }, none];
}

/**
 * Solves the model's last Dense layer on `train`, choosing λ on `validation` (leave-one-out on `train` when it is empty; the prior when a class has one image), and writes it in.
 * `pool`: `train` and `validation` are fitted together, λ by their leave-one-out scores.
 */
export async function solveLinearProbe(model: tf.LayersModel, train: BatchSource, validation: BatchSource, numClasses: number, batchSize: number, signal?: AbortSignal, pool = false): Promise<ProbeChoice> {
  const { layer, features } = probeLayer(model);
  const input = model.inputs[0];
  const extractor = input !== undefined && features.id === input.id ? undefined : tf.model({ inputs: model.inputs, outputs: features });
  const extract = (x: tf.Tensor): tf.Tensor => {
    if (extractor === undefined) return x;
    const y = extractor.predict(x);
    if (Array.isArray(y)) throw new InternalError('the feature extractor returned several outputs');
    return y;
  };
  const read: [Features, Features] = [await readFeatures(train, extract, numClasses, batchSize), await readFeatures(validation, extract, numClasses, batchSize)];
  const [trainFeatures, valFeatures] = pool ? pooled(...read) : read;
  const choice = await chooseRidge(trainFeatures, valFeatures, numClasses, signal === undefined ? {} : { signal });
  const t = choice.temperature;
  const [kernel, bias] = layer.getWeights();
  if (kernel === undefined || bias === undefined || kernel.shape[0] !== trainFeatures.dim) throw new InternalError(`layer ${layer.name} does not take ${trainFeatures.dim} features`);
  const solved = [
    tf.tensor2d(Float32Array.from(choice.solution.kernel, (v) => v * t), [trainFeatures.dim, numClasses]),
    tf.tensor1d(Float32Array.from(choice.solution.bias, (v) => v * t)),
  ];
  layer.setWeights(solved);
  tf.dispose(solved);
  return choice;
}

export interface ProbeStageOptions {
  readonly numClasses: number;
  readonly batchSize: number;
  readonly epoch: number;
  readonly stage: number;
  readonly now: () => number;
  readonly logger: Logger;
  readonly resume?: FitResume;
  readonly onEpoch?: (metrics: EpochMetrics) => void | Promise<void>;
  readonly onProgress?: (progress: FitProgress) => Promise<void>;
  /** Checked between λ solves. */
  readonly signal?: AbortSignal;
  /** Fit the training and validation images together, λ by leave-one-out (StageSpec.poolValidation). */
  readonly poolValidation?: boolean;
}

/** The stage's outcome, plus tags naming the chosen λ and temperature. */
export interface ProbeStageResult extends FitResult {
  readonly tags: Readonly<Record<string, string>>;
}

/**
 * Runs the probe as a stage: one "epoch" whose metrics are the solved layer's training and validation
 * loss and accuracy. The validation split (or, without one, the training images' leave-one-out scores)
 * chose λ and the temperature, so its metrics are not held out (tag transferkit.ridge_selected_on =
 * validation | leave_one_out; `prior` when neither could: ridge-prior.ts); the tags travel with the
 * checkpoint, so a resume keeps them.
 */
export async function probeStage(model: tf.LayersModel, train: BatchSource, validation: BatchSource, o: ProbeStageOptions): Promise<ProbeStageResult> {
  const finished = o.resume?.done === true ? o.resume.epochs.at(-1) : undefined;
  if (finished !== undefined) return { epochs: o.resume?.epochs ?? [], bestEpoch: finished.epoch, stoppedEarly: false, tags: o.resume?.tags ?? {} };
  const started = o.now();
  const pool = o.poolValidation === true;
  const choice = await solveLinearProbe(model, train, validation, o.numClasses, o.batchSize, o.signal, pool);
  const fitted = await evaluate(model, train, o.numClasses, o.batchSize);
  const val = await evaluate(model, validation, o.numClasses, o.batchSize);
  const ended = o.now();
  const metrics: EpochMetrics = {
    epoch: o.epoch, stage: o.stage, loss: fitted.loss, accuracy: fitted.accuracy, val_loss: val.loss, val_accuracy: val.accuracy,
    epoch_seconds: (ended - started) / 1000, time: ended,
  };
  if (choice.skipped.length > 0) {
    o.logger.warn({ skipped_lambdas: choice.skipped }, 'linear probe: the ridge system was not positive definite at these λ; they were left out of the choice');
  }
  if (choice.atEdge !== 'none') {
    o.logger.warn(
      { ridge_lambda: choice.solution.lambda, edge: choice.atEdge },
      `linear probe: the chosen λ is the grid's ${choice.atEdge === 'low' ? 'smallest' : 'largest'}; the best may lie beyond it (few images make the choice noisy)`,
    );
  }
  const on = {
    validation: 'chosen on the validation split: its metrics are not held out',
    leave_one_out: pool
      ? 'chosen on the leave-one-out scores of the training and validation images, fitted together: the validation metrics are not held out'
      : 'chosen on the training images\' leave-one-out scores (no validation split)',
    prior: 'from their prior (no validation split, and a class with a single training image leaves nothing for leave-one-out)',
  }[choice.selectedOn];
  o.logger.info(
    { ridge_lambda: choice.solution.lambda, ridge_lambda_relative: choice.solution.lambda / choice.lambdaScale, temperature: choice.temperature, val_accuracy: val.accuracy, candidates: choice.candidates.length, selected_on: choice.selectedOn },
    `linear probe solved (ridge, λ and temperature ${on})`,
  );
  const tags = {
    'transferkit.ridge_lambda': String(choice.solution.lambda),
    'transferkit.ridge_lambda_relative': String(choice.solution.lambda / choice.lambdaScale),
    'transferkit.ridge_temperature': String(choice.temperature),
    'transferkit.ridge_lambda_at_edge': choice.atEdge,
    'transferkit.ridge_selected_on': choice.selectedOn,
    'transferkit.ridge_trained_on': pool ? 'train+validation' : 'train',
  };
  await o.onProgress?.({ epochs: [metrics], done: true, earlyStop: undefined, tags });
  await o.onEpoch?.(metrics);
  return { epochs: [metrics], bestEpoch: o.epoch, stoppedEarly: false, tags };
}
