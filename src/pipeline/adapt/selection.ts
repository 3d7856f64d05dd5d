/**
 * Label-free model selection for domain adaptation: which epoch to keep when the target domain has
 * no labels. Signals: the mean prediction entropy on target data (lower = more confident; it can be
 * fooled by a collapse onto few classes, so read it with the pseudo-label class balance) and the
 * source validation loss passed through unchanged. In benchmarks, where target test accuracy per
 * epoch is known, `selectEpoch` reports how far the signal's choice falls from the best epoch.
 */
import * as tf from '@tensorflow/tfjs';
import { batchRanges, type BatchSource } from '../train/source.js';

/** Keras's probability clip, as in ../evaluate.ts. */
const EPSILON = 1e-7;

/** Per-example entropy −Σ p log p (nats) of the rows of `probs` ([n, classes]); length n. */
export function predictionEntropy(probs: tf.Tensor2D): tf.Tensor1D {
  if (probs.rank !== 2) throw new RangeError(`probabilities must be a [batch, classes] matrix, got shape [${probs.shape.join(', ')}]`);
  return tf.tidy(() => tf.neg(tf.sum<tf.Tensor1D>(tf.mul(probs, tf.log(tf.clipByValue(probs, EPSILON, 1))), 1)));
}

/** Mean prediction entropy (nats) of a batch; 0 for an empty batch. The maximum is log(classes). */
export function meanEntropy(probs: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => (probs.shape[0] === 0 ? tf.scalar(0) : tf.mean<tf.Scalar>(predictionEntropy(probs))));
}

/** Mean prediction entropy of `model` (its output: class probabilities) over a whole source of inputs. */
export async function datasetEntropy(model: tf.LayersModel, source: Pick<BatchSource, 'count' | 'batch'>, batchSize: number): Promise<number> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (source.count === 0) return 0;
  const all = Int32Array.from({ length: source.count }, (_, i) => i);
  let sum = 0;
  for (const [start, end] of batchRanges(source.count, batchSize)) {
    const total = tf.tidy(() => {
      const out = model.predict(source.batch(all.subarray(start, end)));
      const probs = Array.isArray(out) ? out[0] : out;
      if (probs === undefined || probs.rank !== 2) throw new Error('model.predict did not return a [batch, classes] tensor');
      return tf.sum(predictionEntropy(tf.reshape<tf.Rank.R2>(probs, [end - start, -1])));
    });
    const [value = Number.NaN] = await total.data();
    total.dispose();
    sum += value;
  }
  return sum / source.count;
}

/** A per-epoch model-selection signal and which way is better. */
export interface SelectionSignal {
  readonly name: string;
  readonly values: readonly number[];
  readonly better: 'lower' | 'higher';
}

/** Mean target entropy per epoch as a signal (lower is better). */
export function entropySignal(values: readonly number[]): SelectionSignal {
  return { name: 'target_entropy', values: [...values], better: 'lower' };
}

/** The source validation loss per epoch, unchanged, as a signal (lower is better). */
export function sourceValidationLossSignal(epochs: readonly { readonly val_loss: number }[]): SelectionSignal {
  return { name: 'source_val_loss', values: epochs.map((e) => e.val_loss), better: 'lower' };
}

/** The epoch a signal chooses: its best finite value, the earliest on ties. Throws when none is finite. */
export function chooseEpoch(signal: SelectionSignal): number {
  let chosen = -1;
  signal.values.forEach((v, epoch) => {
    if (!Number.isFinite(v)) return;
    const current = signal.values[chosen];
    if (current === undefined || (signal.better === 'lower' ? v < current : v > current)) chosen = epoch;
  });
  if (chosen < 0) throw new RangeError(`signal ${signal.name} has no finite value in ${signal.values.length} epochs`);
  return chosen;
}

export interface SelectionReport {
  readonly signal: string;
  readonly chosenEpoch: number;
  readonly chosenAccuracy: number;
  /** The epoch with the highest target accuracy (earliest on ties): the oracle's choice. */
  readonly bestEpoch: number;
  readonly bestAccuracy: number;
  /** bestAccuracy − chosenAccuracy, ≥ 0: what selecting without target labels cost. */
  readonly gap: number;
}

/** Compares a signal's choice with the oracle epoch, given per-epoch target test accuracies. */
export function selectEpoch(signal: SelectionSignal, targetAccuracies: readonly number[]): SelectionReport {
  if (targetAccuracies.length !== signal.values.length) {
    throw new RangeError(`signal ${signal.name} has ${signal.values.length} epochs but there are ${targetAccuracies.length} accuracies`);
  }
  const chosenEpoch = chooseEpoch(signal);
  const bestEpoch = chooseEpoch({ name: 'target_accuracy', values: targetAccuracies, better: 'higher' });
  const chosenAccuracy = targetAccuracies[chosenEpoch] ?? Number.NaN;
  const bestAccuracy = targetAccuracies[bestEpoch] ?? Number.NaN;
  return { signal: signal.name, chosenEpoch, chosenAccuracy, bestEpoch, bestAccuracy, gap: bestAccuracy - chosenAccuracy };
}
