/**
 * The state of distribution alignment for pseudo-labelling (./pseudo-label.ts `alignDistribution`):
 * a running mean of the model's weak-view class probabilities on unlabelled target batches (an
 * exponential moving average over about the last 32 batches, starting uniform), and the prior it is
 * aligned to: uniform, the class distribution of the labelled data (class-balanced budgets), assumed
 * to be the target's too.
 */
import * as tf from '@tensorflow/tfjs';
import { alignDistribution } from './pseudo-label.js';

export class ClassMarginal {
  readonly #prior: tf.Tensor1D;
  #marginal: tf.Tensor1D;

  constructor(
    classes: number,
    private readonly momentum = 1 - 1 / 32,
  ) {
    if (!Number.isSafeInteger(classes) || classes < 1) throw new RangeError(`classes must be a positive integer, got ${classes}`);
    this.#prior = tf.fill([classes], 1 / classes);
    this.#marginal = tf.fill([classes], 1 / classes);
  }

  /** `weak` aligned to the prior with the running mean so far (a new tensor); then updates the mean with `weak`. */
  align(weak: tf.Tensor2D): tf.Tensor2D {
    const aligned = alignDistribution(weak, this.#prior, this.#marginal);
    const next = tf.tidy(() => tf.add<tf.Tensor1D>(tf.mul(this.#marginal, this.momentum), tf.mul(tf.mean<tf.Tensor1D>(weak, 0), 1 - this.momentum)));
    this.#marginal.dispose();
    this.#marginal = next;
    return aligned;
  }

  /** The running mean so far (owned by this object: do not dispose), for a checkpoint. */
  get marginal(): tf.Tensor1D {
    return this.#marginal;
  }

  /** Continues from a checkpoint's running mean. */
  restore(values: Float32Array): void {
    if (values.length !== this.#prior.shape[0]) throw new RangeError(`the saved class marginal has ${values.length} classes, the model ${this.#prior.shape[0]}`);
    this.#marginal.dispose();
    this.#marginal = tf.tensor1d(values);
  }

  dispose(): void {
    tf.dispose([this.#prior, this.#marginal]);
  }
}
