/**
 * A batch source hands the trainer the model's input for a set of example indices. Training does not
 * care whether those inputs are preprocessed images or cached activations of a frozen prefix.
 */
import * as tf from '@tensorflow/tfjs';
import type { PrefixForward } from '../cache/activations.js';
import type { FeatureStore } from '../cache/store.js';
import type { ImageSet } from '../data/types.js';
import { imageBatch, type InputSpec } from '../model/input.js';
import type { Augmentation } from '../params/fields.js';

export interface BatchSource {
  readonly count: number;
  /** Class index per example, 0..numClasses-1. */
  readonly labels: Int32Array;
  /** Views per example (test-time augmentation, tta.ts): a batch of n holds views × n rows, view after view. Default 1. */
  readonly views?: number;
  /**
   * A new tensor the caller disposes. `batchSeed` (given by the trainer per epoch and batch) drives
   * augmentation; sources without augmentation ignore it.
   */
  batch(indices: ArrayLike<number>, batchSeed?: number): tf.Tensor;
}

export function imageSource(set: ImageSet, spec: InputSpec, augment: readonly Augmentation[] = []): BatchSource {
  return {
    count: set.count,
    labels: set.labels,
    batch: (indices, batchSeed) =>
      imageBatch(set, indices, spec, augment.length > 0 && batchSeed !== undefined ? { ops: augment, seed: batchSeed } : undefined),
  };
}

/**
 * Augmented images through the frozen prefix: what the trainable suffix sees when the inputs change
 * every epoch and so cannot be cached. The same computation as the whole model on those images.
 */
export function prefixSource(set: ImageSet, spec: InputSpec, augment: readonly Augmentation[], prefix: PrefixForward): BatchSource {
  const images = imageSource(set, spec, augment);
  return {
    count: set.count,
    labels: set.labels,
    batch: (indices, batchSeed) => {
      const x = images.batch(indices, batchSeed);
      try {
        // the whole batch at once (a LayersModel's predict would split it in 32s)
        const y = prefix.predict(x);
        if (Array.isArray(y)) throw new Error('frozen prefix returned several outputs');
        return y;
      } finally {
        x.dispose();
      }
    },
  };
}

/** Index ranges [start, end) of consecutive batches over `count` examples. */
export function* batchRanges(count: number, batchSize: number): Generator<readonly [number, number]> {
  for (let start = 0; start < count; start += batchSize) yield [start, Math.min(count, start + batchSize)];
}

/** Cached activations as the model's input (the trainable suffix of a split model). */
export function featureSource(store: FeatureStore, labels: Int32Array, featureShape: readonly number[]): BatchSource {
  return {
    count: store.count,
    labels,
    batch: (indices) => tf.tensor(store.gather(indices), [indices.length, ...featureShape], 'float32'),
  };
}

/** The set `name` of a phase's inputs, or an error naming it. */
export function sourceOf(sources: Readonly<Record<string, BatchSource>>, name: string): BatchSource {
  const source = sources[name];
  if (source === undefined) throw new Error(`the phase has no ${name} set`);
  return source;
}
