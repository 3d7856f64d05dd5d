/**
 * What a cache entry is keyed by: everything that determines the activations. The forward that
 * computes them, the frozen prefix's actual weight values (not a file name: a random init depends on
 * the seed), the cut, the input size and preprocessing, the storage dtype, and the images' own bytes.
 */
import { createHash } from 'node:crypto';
import type * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.js';
import type { InputSpec } from '../model/input.js';
import type { FeatureDtype } from './store.js';

export const CACHE_FORMAT = 1;

export function weightsDigest(prefix: tf.LayersModel): string {
  // layer names, not variable names: tfjs makes variable names unique per process
  const hash = createHash('sha256');
  for (const layer of prefix.layers) {
    layer.weights.forEach((w, i) => {
      const values = w.read().dataSync();
      hash.update(`${layer.name}#${i}:${w.shape.join('x')};`);
      hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
    });
  }
  return hash.digest('hex');
}

export function imagesDigest(set: ImageSet): string {
  return createHash('sha256')
    .update(`${set.count}x${set.height}x${set.width}x${set.channels};`)
    .update(set.images)
    .digest('hex');
}

export interface KeyParts {
  /**
   * What computed the activations (the compiled forward's mode and revision, e.g. `fused@1`):
   * forwards differ at float32 rounding, and that can change a run's training path.
   */
  readonly forward: string;
  readonly weights: string;
  readonly cutAfter: string;
  readonly input: InputSpec;
  readonly dtype: FeatureDtype;
  readonly images: string;
}

export function cacheKey(parts: KeyParts): string {
  return createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, ...parts })).digest('hex');
}
