/**
 * One optimizer step on one batch: the lean step of a dense head (./dense-step.ts) when the
 * trainable model is one, else tfjs-layers' `trainOnBatch` with the compiled loss and metric.
 */
import * as tf from '@tensorflow/tfjs';
import { denseStep } from './dense-step.js';

/** Trains on `x` with `labels` (class indices); the batch's mean loss and accuracy. */
export type BatchStep = (x: tf.Tensor, labels: Int32Array) => Promise<{ readonly loss: number; readonly accuracy: number }>;

export interface ChosenStep {
  readonly step: BatchStep;
  /** `dense` (the lean step) or `trainOnBatch`. */
  readonly kind: 'dense' | 'trainOnBatch';
}

/** `trainOnBatch` on a compiled model, with one-hot targets. */
export function trainOnBatchStep(model: tf.LayersModel, numClasses: number): BatchStep {
  return async (x, labels) => {
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses));
    try {
      const out = await model.trainOnBatch(x, y);
      const [loss = Number.NaN, accuracy = Number.NaN] = Array.isArray(out) ? out : [out];
      return { loss, accuracy };
    } finally {
      y.dispose();
    }
  };
}

/** The step a fit of `model` uses. */
export function batchStep(model: tf.LayersModel, numClasses: number): ChosenStep {
  const dense = denseStep(model, numClasses);
  return dense === undefined ? { step: trainOnBatchStep(model, numClasses), kind: 'trainOnBatch' } : { step: dense, kind: 'dense' };
}
