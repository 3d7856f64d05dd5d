/**
 * Test-time augmentation: the test set is evaluated on several views of each image and the softmax
 * outputs are averaged (evaluate.ts). `flip`: the image and its horizontal mirror. `flip_crop`: those
 * two, each also shifted to the four corners of its reflection padding (the training crop's padding,
 * data/augment.ts): 10 views. Views are made at the dataset's resolution, before resizing, as the
 * training augmentation is; they go through the whole classifier (cached activations are of the
 * unaugmented images only).
 */
import * as tf from '@tensorflow/tfjs';
import { cropPadding } from './data/augment.js';
import type { ImageSet } from './data/types.js';
import { imageBatch, type InputSpec } from './model/input.js';
import type { BatchSource } from './train/source.js';

export const TTA_MODES = ['none', 'flip', 'flip_crop'] as const;
export type TtaMode = (typeof TTA_MODES)[number];

/** The views of a batch [n, h, w, c], concatenated view after view: [views × n, h, w, c]. */
export function ttaViews(x: tf.Tensor4D, mode: Exclude<TtaMode, 'none'>): tf.Tensor4D {
  return tf.tidy(() => {
    const mirrored = [x, tf.reverse(x, 2)];
    if (mode === 'flip') return tf.concat(mirrored, 0);
    const [n, h, w, c] = x.shape;
    const pad = Math.min(cropPadding(Math.min(h, w)), h - 1, w - 1);
    const corners: Array<readonly [number, number]> = [[0, 0], [0, 2 * pad], [2 * pad, 0], [2 * pad, 2 * pad]];
    const views = mirrored.flatMap((m) => {
      const padded = tf.mirrorPad(m, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'reflect');
      return [m, ...corners.map(([dy, dx]) => tf.slice(padded, [0, dy, dx, 0], [n, h, w, c]))];
    });
    return tf.concat(views, 0);
  });
}

export function viewCount(mode: TtaMode): number {
  return mode === 'none' ? 1 : mode === 'flip' ? 2 : 10;
}

/** The set's images as the classifier's input, each batch holding every view of its images. */
export function ttaSource(set: ImageSet, input: InputSpec, mode: Exclude<TtaMode, 'none'>): BatchSource {
  return {
    count: set.count,
    labels: set.labels,
    views: viewCount(mode),
    batch: (indices) => imageBatch(set, indices, input, (x) => ttaViews(x, mode)),
  };
}
