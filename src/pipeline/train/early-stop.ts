/**
 * Early stopping on validation loss with patience, keeping the best epoch's weights (tfjs's own
 * earlyStopping callback cannot restore them). Only trainable weights are kept: frozen ones do not
 * change, so copying them would only cost memory. Its state can be saved and restored, so a
 * resumed run stops where the uninterrupted one would have.
 */
import * as tf from '@tensorflow/tfjs';
import type { StageRecord } from '../checkpoint/state.js';
import { stateWeights } from '../model/state-weights.js';

export interface EarlyStopState {
  readonly bestLoss: number;
  readonly bestEpoch: number;
  readonly wait: number;
  /** The best epoch's weights, in `stateWeights(model)` order (absent before any). */
  readonly weights: readonly tf.Tensor[] | undefined;
}

export class BestWeights {
  #saved: tf.Tensor[] | undefined;
  #bestLoss = Number.POSITIVE_INFINITY;
  #bestEpoch = -1;
  #wait = 0;

  constructor(
    private readonly model: tf.LayersModel,
    private readonly patience: number,
    resume?: EarlyStopState,
  ) {
    if (resume !== undefined) {
      this.#bestLoss = resume.bestLoss;
      this.#bestEpoch = resume.bestEpoch;
      this.#wait = resume.wait;
      this.#saved = resume.weights?.map((t) => tf.clone(t));
    }
  }

  get bestEpoch(): number {
    return this.#bestEpoch;
  }
  get bestLoss(): number {
    return this.#bestLoss;
  }
  /** True when the patience has run out. */
  get exhausted(): boolean {
    return this.#wait >= this.patience;
  }

  /** The state to checkpoint (tensors owned by this object: do not dispose). */
  get state(): EarlyStopState {
    return { bestLoss: this.#bestLoss, bestEpoch: this.#bestEpoch, wait: this.#wait, weights: this.#saved };
  }

  /** Records an epoch's validation loss; returns true when training should stop. */
  update(epoch: number, valLoss: number): boolean {
    if (valLoss < this.#bestLoss) {
      this.#bestLoss = valLoss;
      this.#bestEpoch = epoch;
      this.#wait = 0;
      this.#replace(stateWeights(this.model).map((w) => tf.clone(w.read())));
      return false;
    }
    this.#wait++;
    return this.exhausted;
  }

  /** Writes the best epoch's weights back into the model. */
  restore(): void {
    const saved = this.#saved;
    if (saved === undefined) return;
    stateWeights(this.model).forEach((w, i) => {
      const value = saved[i];
      if (value !== undefined) w.write(value);
    });
  }

  dispose(): void {
    this.#replace(undefined);
  }

  #replace(next: tf.Tensor[] | undefined): void {
    this.#saved?.forEach((t) => t.dispose());
    this.#saved = next;
  }
}

/**
 * Early stopping's starting point for a stage after the first: the best epoch so far (the earlier
 * stage ended holding its weights) and its validation loss, with the weights this stage can change.
 */
export function carriedBest(earlier: StageRecord | undefined, model: tf.LayersModel): EarlyStopState | undefined {
  const best = earlier?.epochs.find((e) => e.epoch === earlier.outcome.bestEpoch);
  if (best === undefined) return undefined;
  return { bestLoss: best.val_loss, bestEpoch: best.epoch, wait: 0, weights: stateWeights(model).map((w) => tf.clone(w.read())) };
}
