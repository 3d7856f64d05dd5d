/**
 * Dropout with a fresh, reproducible mask every training step. tfjs-layers' Dropout with a `seed`
 * draws the SAME mask on every call (its seeded random op restarts from the seed), so the same
 * units were dropped on every step: they never trained, yet joined in at test time. Without a
 * seed, masks are random but runs cannot be reproduced or resumed. This layer's mask is seeded by
 * (layer seed, step), and the trainer sets the step before each batch (from the run seed, epoch
 * and batch), so a resumed run draws exactly the masks the uninterrupted one would have.
 * It serializes as a plain Keras `Dropout` (class name and config), so saved models load anywhere.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../data/sample.js';

export class StepDropout extends tf.layers.Layer {
  static className = 'Dropout';
  readonly rate: number;
  readonly seed: number;
  #step = 0;

  constructor(args: { name: string; rate: number; seed: number }) {
    super({ name: args.name });
    this.rate = args.rate;
    this.seed = args.seed;
    this.supportsMasking = true;
  }

  /** The training step whose mask the next call draws. */
  setStep(step: number): void {
    this.#step = step;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new Error('dropout: no input');
    if (kwargs['training'] !== true || this.rate <= 0 || this.rate >= 1) return tf.clone(x);
    return tf.dropout(x, this.rate, undefined, deriveSeed(this.seed, this.#step));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, noiseShape: null, seed: null };
  }
}

/** Sets the step of every StepDropout in the model (shared layers: the classifier and its splits). */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  for (const layer of model.layers) if (layer instanceof StepDropout) layer.setStep(step);
}
