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

  /** Keras's `noise_shape`: `null` entries follow the input (EfficientNet's drop-connect is [null, 1, 1, 1]). */
  readonly noiseShape: readonly (number | null)[] | undefined;

  constructor(args: { name: string; rate: number; seed: number; noiseShape?: readonly (number | null)[]; trainable?: boolean }) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.rate = args.rate;
    this.seed = args.seed;
    this.noiseShape = args.noiseShape;
    this.supportsMasking = true;
  }

  /** The training step whose mask the next call draws. */
  setStep(step: number): void {
    this.#step = step;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined) throw new Error('dropout: no input');
    // A frozen dropout is off, as a frozen BatchNorm runs in inference mode (so the cached path,
    // which runs the frozen prefix through predict, computes the same).
    if (kwargs['training'] !== true || !this.trainable || this.rate <= 0 || this.rate >= 1) return tf.clone(x);
    const noiseShape = this.noiseShape?.map((d, i) => d ?? x.shape[i] ?? 1);
    return tf.dropout(x, this.rate, noiseShape, deriveSeed(this.seed, this.#step));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, noiseShape: this.noiseShape === undefined ? null : [...this.noiseShape], seed: null };
  }
}

/** Sets the step of every StepDropout in the model (shared layers: the classifier and its splits). */
export function setDropoutStep(model: tf.LayersModel, step: number): void {
  for (const layer of model.layers) if (layer instanceof StepDropout) layer.setStep(step);
}
