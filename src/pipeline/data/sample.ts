/**
 * Seeded randomness and class-balanced sampling.
 *
 * PRNG: mulberry32 (Tommy Ettinger, public domain): 32-bit state, period 2^32, passes
 * gjrand/PractRand up to large sizes; plenty for shuffling, not for cryptography. Sub-streams
 * (per class, per epoch) are seeded by mixing the user seed with the stream id through the
 * splitmix32 finalizer, so they do not depend on the order anything else was drawn in.
 */
import { DataError, ParamError, describeValue } from '../../errors.js';
import { labelAt } from './checked.js';
import type { ImageSet } from './types.js';

/** Returns uniform floats in [0, 1). */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** splitmix32-style mix of a seed and a stream id into a new 32-bit seed. */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b9) + Math.imul((stream + 1) >>> 0, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad) >>> 0;
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97) >>> 0;
  return (z ^ (z >>> 15)) >>> 0;
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T, rng: Rng): T {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  return shuffleInPlace(out, rng);
}

/** The order of examples in epoch `epoch` (0-based): deterministic for (seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Int32Array {
  return permutation(n, mulberry32(deriveSeed(seed, 0x10000 + epoch)));
}

/** Copies the images at `indices` (in that order) into a new ImageSet. */
export function subsetImageSet(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = set.height * set.width * set.channels;
  const images = new Uint8Array(indices.length * size);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k] ?? -1;
    if (!Number.isInteger(i) || i < 0 || i >= set.count) throw new RangeError(`index ${i} is outside 0..${set.count - 1}`);
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k] = labelAt(set.labels, i, undefined, 'subsetImageSet');
  }
  return { images, labels, count: indices.length, height: set.height, width: set.width, channels: set.channels };
}

export interface BalancedSplitOptions {
  /** Images drawn per class (train + validation), or `'all'` for every image. */
  readonly perClass: number | 'all';
  /** Fraction of each class's drawn images held out for validation, in [0, 1). */
  readonly validationFraction: number;
  readonly seed: number;
  /** For messages: names of the classes the labels index. */
  readonly classNames?: readonly string[];
}

/**
 * Draws a class-balanced train/validation split from `set`. Per class (0..max label): shuffle that
 * class's indices with a seed derived from (seed, class), take `perClass` of them, and hold out
 * `round(perClass × validationFraction)` (at least 1 when the fraction is > 0) for validation.
 * Both outputs keep dataset order. Deterministic for a given seed.
 */
export function balancedSplit(set: ImageSet, options: BalancedSplitOptions): { train: ImageSet; validation: ImageSet } {
  const { perClass, validationFraction, seed } = options;
  if (perClass !== 'all' && (!Number.isSafeInteger(perClass) || perClass < 1)) {
    throw new ParamError('samples_per_class', `samples_per_class must be a positive integer or "all", got ${describeValue(perClass)}`);
  }
  if (!Number.isFinite(validationFraction) || validationFraction < 0 || validationFraction >= 1) {
    throw new ParamError('validation_fraction', `validation_fraction must be in [0, 1), got ${describeValue(validationFraction)}`);
  }
  if (!Number.isSafeInteger(seed)) throw new ParamError('seed', `seed must be an integer, got ${describeValue(seed)}`);

  const byClass: number[][] = [];
  for (let i = 0; i < set.count; i++) {
    const label = labelAt(set.labels, i, undefined, 'balancedSplit');
    while (byClass.length <= label) byClass.push([]);
    byClass[label]?.push(i);
  }
  const name = (c: number): string => (options.classNames?.[c] === undefined ? `${c}` : `${c} (${options.classNames[c]})`);
  const train: number[] = [];
  const validation: number[] = [];
  byClass.forEach((indices, c) => {
    if (indices.length === 0) throw new DataError(`class ${name(c)} has no images in the training set`);
    const take = perClass === 'all' ? indices.length : perClass;
    if (take > indices.length) {
      throw new ParamError('samples_per_class', `class ${name(c)} has ${indices.length} training images, fewer than samples_per_class=${take}`);
    }
    const held = validationFraction > 0 ? Math.max(1, Math.round(take * validationFraction)) : 0;
    if (held >= take) {
      throw new ParamError(
        'samples_per_class',
        `class ${name(c)}: samples_per_class=${take} with validation_fraction=${validationFraction} holds out ${held} of ${take} images, leaving none for training`,
      );
    }
    const drawn = shuffleInPlace(indices.slice(), mulberry32(deriveSeed(seed, c))).slice(0, take);
    drawn.forEach((index, k) => (k < held ? validation : train).push(index));
  });
  const ascending = (a: number, b: number): number => a - b;
  return { train: subsetImageSet(set, train.sort(ascending)), validation: subsetImageSet(set, validation.sort(ascending)) };
}
