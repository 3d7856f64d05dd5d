/**
 * Loss, accuracy, per-class accuracy and the confusion matrix of a model over a batch source.
 * Used for the validation set every epoch and for the test set once at the end. A source with several
 * views per example (test-time augmentation, tta.ts) is scored on the mean of the views' probabilities;
 * its batch holds views × batch_size images, which go through the model batch_size at a time.
 */
import * as tf from '@tensorflow/tfjs';
import { labelAt } from './data/checked.js';
import { TopMistakes, type Mistake } from './mistakes.js';
import type { ProgressTask } from './progress.js';
import { clippedNll } from './train/softmax-loss.js';
import { batchRanges, type BatchSource } from './train/source.js';

export interface Evaluation {
  readonly count: number;
  readonly loss: number;
  readonly accuracy: number;
  /** Accuracy per true class (NaN for a class with no examples). */
  readonly perClassAccuracy: readonly number[];
  /** confusion[true][predicted] */
  readonly confusion: readonly (readonly number[])[];
  /** The most confident mistakes (mistakes.ts), most confident first; absent when read back from a checkpoint. */
  readonly mistakes?: readonly Mistake[];
}

export async function evaluate(
  model: tf.LayersModel,
  source: BatchSource,
  numClasses: number,
  batchSize: number,
  /** Advanced by each batch's images. */
  task?: ProgressTask,
): Promise<Evaluation> {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  let lossSum = 0;
  let correct = 0;
  const mistakes = new TopMistakes();
  const all = Int32Array.from({ length: source.count }, (_, i) => i);
  for (const [start, end] of batchRanges(source.count, batchSize)) {
    const labels = Int32Array.from({ length: end - start }, (_, i) => labelAt(source.labels, start + i, numClasses, 'evaluation'));
    const probsTensor = tf.tidy(() => {
      const x = source.batch(all.subarray(start, end));
      // predict's own batching: at most batchSize images through the model at once (its default is 32)
      const out = model.predict(x, { batchSize });
      const viewProbs = Array.isArray(out) ? out[0] : out;
      if (viewProbs === undefined) throw new Error('model.predict returned no output');
      // several views per example (test-time augmentation): the mean of their softmax outputs
      const views = source.views ?? 1;
      return views === 1 ? viewProbs : tf.mean(tf.reshape(viewProbs, [views, end - start, numClasses]), 0);
    });
    // one read-back; the loss and the predicted classes are a few lines of arithmetic (ops cost more here)
    const probs = await probsTensor.data();
    probsTensor.dispose();
    labels.forEach((label, i) => {
      const row = i * numClasses;
      let p = 0;
      for (let j = 1; j < numClasses; j++) if ((probs[row + j] ?? Number.NaN) > (probs[row + p] ?? Number.NaN)) p = j;
      lossSum += clippedNll(probs[row + label] ?? Number.NaN);
      const confusionRow = confusion[label];
      if (confusionRow !== undefined) confusionRow[p] = (confusionRow[p] ?? 0) + 1;
      if (p === label) correct++;
      else mistakes.add({ index: start + i, label, predicted: p, probability: probs[row + p] ?? Number.NaN });
    });
    task?.advance(end - start);
  }
  const perClassAccuracy = confusion.map((row, c) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? Number.NaN : (row[c] ?? 0) / total;
  });
  const count = source.count;
  return {
    count,
    loss: count === 0 ? Number.NaN : lossSum / count,
    accuracy: count === 0 ? Number.NaN : correct / count,
    perClassAccuracy,
    confusion,
    mistakes: mistakes.list,
  };
}
