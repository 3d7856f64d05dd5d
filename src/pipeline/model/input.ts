/**
 * Turns uint8 images into the backbone's input, one batch at a time: gather → float → gray to RGB →
 * resize → preprocess. Only the batch is ever in float, so upsampled datasets never exist in full.
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, type AugmentOptions } from '../data/augment.js';
import { InternalError } from '../../errors.js';
import { checkIndex } from '../data/checked.js';
import type { ImageSet } from '../data/types.js';
import type { Preprocessing } from './spec.js';

export interface InputSpec {
  readonly inputSize: number;
  readonly preprocessing: Preprocessing;
}

/** Copies the chosen images into one float32 buffer (the only copy made for a batch); indices are checked. */
export function gatherPixels(set: ImageSet, indices: ArrayLike<number>): Float32Array {
  const size = set.height * set.width * set.channels;
  if (set.images.length < set.count * size) {
    throw new InternalError(`gatherPixels: the set's pixel buffer has ${set.images.length} values, ${set.count} images of ${set.height}×${set.width}×${set.channels} need ${set.count * size}`);
  }
  const out = new Float32Array(indices.length * size);
  for (let i = 0; i < indices.length; i++) {
    const index = checkIndex(indices[i], set.count, 'gatherPixels');
    const start = index * size;
    const src = set.images.subarray(start, start + size);
    out.set(src, i * size);
  }
  return out;
}

/** Applies a backbone's preprocessing (spec.ts: channel order, then scale and offset) to RGB pixels in [0, 255]. */
export function preprocess(x: tf.Tensor4D, p: Preprocessing): tf.Tensor4D {
  return tf.tidy(() => {
    const ordered = p.channels === 'bgr' ? tf.reverse(x, -1) : x;
    const scaled = p.scale.every((s) => s === 1) ? ordered : tf.mul<tf.Tensor4D>(ordered, tf.tensor1d([...p.scale]));
    const out = p.offset.every((o) => o === 0) ? scaled : tf.add<tf.Tensor4D>(scaled, tf.tensor1d([...p.offset]));
    return out;
  });
}

/** Pixels → pixels at the dataset's resolution (RGB, [0, 255]), before resizing: augmentation, test-time views. */
export type PixelTransform = (x: tf.Tensor4D) => tf.Tensor4D;

/**
 * The batch as the backbone's input; `augment` (training only) flips/crops before resizing, or any
 * pixel transform does (test-time augmentation stacks its views along the batch axis).
 */
export function imageBatch(set: ImageSet, indices: ArrayLike<number>, spec: InputSpec, augment?: AugmentOptions | PixelTransform): tf.Tensor4D {
  const pixels = gatherPixels(set, indices);
  return tf.tidy(() => {
    let x: tf.Tensor4D = tf.tensor4d(pixels, [indices.length, set.height, set.width, set.channels]);
    if (set.channels === 1) x = tf.tile(x, [1, 1, 1, 3]);
    if (typeof augment === 'function') x = augment(x);
    else if (augment !== undefined && augment.ops.length > 0) x = augmentBatch(x, augment);
    if (set.height !== spec.inputSize || set.width !== spec.inputSize) {
      // half-pixel centres, as TF2's tf.image.resize does
      x = tf.image.resizeBilinear(x, [spec.inputSize, spec.inputSize], false, true);
    }
    return preprocess(x, spec.preprocessing);
  });
}
