/**
 * What one adaptation step trains on: fixed-size batches drawn from endless seeded index streams
 * (a set smaller than the epoch is cycled, reshuffled on every pass), stacked in domain order:
 *   [source labelled | target labelled | target unlabelled]
 * plus the one-hot labels of the labelled rows and, for pseudo-labelling, the weak view of the
 * unlabelled rows (whose strong view is in the stack). Knows nothing of losses.
 */
import * as tf from '@tensorflow/tfjs';
import { checkIndex, labelAt } from '../data/checked.js';
import { deriveSeed, mulberry32, permutation } from '../data/sample.js';
import type { BatchSource } from '../train/source.js';

/** An endless stream of indices 0..count-1: pass p is permutation(count, deriveSeed(seed, p)). */
export class IndexStream {
  #order: Int32Array = new Int32Array(0);
  #pos = 0;
  #pass = 0;

  constructor(
    readonly count: number,
    private readonly seed: number,
  ) {
    if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`an index stream needs at least one example, got ${count}`);
  }

  next(n: number): Int32Array {
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      if (this.#pos >= this.#order.length) {
        this.#order = permutation(this.count, mulberry32(deriveSeed(this.seed, this.#pass++)));
        this.#pos = 0;
      }
      out[i] = checkIndex(this.#order[this.#pos++], this.count, 'index stream');
    }
    return out;
  }
}

export interface StepSources {
  /** Labelled source images (shared classes only). */
  readonly source?: BatchSource;
  /** Labelled target images (when the target has labels). */
  readonly targetLabelled?: BatchSource;
  /** Unlabelled target images as the model sees them in the loss (the strong view for pseudo-labels). */
  readonly unlabelled?: BatchSource;
  /** Pseudo-labelling: the weak view of the same unlabelled images. */
  readonly weak?: BatchSource;
}

/** Tensors of one step; the caller disposes them with `disposeStep`. */
export interface StepBatch {
  /** Every row of the step, in domain order. */
  readonly x: tf.Tensor;
  /** One-hot labels of the first `labelled` rows. */
  readonly y: tf.Tensor2D;
  /** Rows from the source domain (the first ones). */
  readonly sourceRows: number;
  /** Labelled rows (source, then target). */
  readonly labelled: number;
  /** Weak view of the unlabelled rows (pseudo-labelling). */
  readonly weak: tf.Tensor | undefined;
  /** True classes of the unlabelled rows: for reports only (pseudo-label accuracy), never trained on. */
  readonly truth: Int32Array;
}

export class StepBatches {
  readonly #streams: { readonly key: keyof StepSources; readonly stream: IndexStream }[] = [];

  constructor(
    private readonly sources: StepSources,
    private readonly batchSize: number,
    private readonly numClasses: number,
    seed: number,
  ) {
    if (sources.source === undefined && sources.targetLabelled === undefined) throw new RangeError('a step needs labelled images');
    (['source', 'targetLabelled', 'unlabelled'] as const).forEach((key, i) => {
      const s = sources[key];
      if (s !== undefined) this.#streams.push({ key, stream: new IndexStream(s.count, deriveSeed(seed, 0x3000 + i)) });
    });
  }

  /** Rows a step stacks (every stream's batch). */
  get rowsPerStep(): number {
    return this.#streams.length * this.batchSize;
  }

  /** Moves the streams past `steps` steps without building their tensors (a resumed run's earlier epochs). */
  skip(steps: number): void {
    for (let i = 0; i < steps; i++) for (const { stream } of this.#streams) stream.next(this.batchSize);
  }

  /** The step's tensors; `stepSeed` drives the augmentation of every view. */
  next(stepSeed: number): StepBatch {
    const parts: tf.Tensor[] = [];
    const labels: number[] = [];
    let sourceRows = 0;
    let unlabelled: Int32Array | undefined;
    try {
      for (const [i, { key, stream }] of this.#streams.entries()) {
        const from = this.sources[key];
        if (from === undefined) continue;
        const indices = stream.next(this.batchSize);
        parts.push(from.batch(indices, deriveSeed(stepSeed, i)));
        if (key === 'source') sourceRows = indices.length;
        if (key === 'unlabelled') unlabelled = indices;
        else indices.forEach((k) => labels.push(labelAt(from.labels, k, this.numClasses, `${key} batch`)));
      }
      const weakSource = this.sources.weak;
      const weak = unlabelled === undefined || weakSource === undefined ? undefined : asBatch(weakSource.batch(unlabelled, deriveSeed(stepSeed, 0x77)));
      const truth = unlabelled === undefined ? new Int32Array(0) : Int32Array.from(unlabelled, (k) => this.sources.unlabelled?.labels[k] ?? -1);
      const x = asBatch(tf.concat(parts, 0));
      const y = tf.tidy(() => tf.reshape<tf.Rank.R2>(tf.oneHot(tf.tensor1d(labels, 'int32'), this.numClasses).toFloat(), [labels.length, this.numClasses]));
      return { x, y, sourceRows, labelled: labels.length, weak, truth };
    } finally {
      tf.dispose(parts);
    }
  }
}

/**
 * Checks that `t` is a batch: images, or a frozen prefix's activations (a feature map, or pooled
 * features [n, d] when every backbone layer is frozen and the step trains the head on them).
 */
function asBatch(t: tf.Tensor): tf.Tensor {
  if (t.rank < 2) {
    t.dispose();
    throw new Error(`expected a batch of images or activations, got shape [${t.shape.join(', ')}]`);
  }
  return t;
}

export function disposeStep(batch: StepBatch): void {
  tf.dispose([batch.x, batch.y, ...(batch.weak === undefined ? [] : [batch.weak])]);
}
