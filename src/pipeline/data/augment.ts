/**
 * Training-time augmentation of a batch, in the data pipeline: random horizontal flips and random
 * crops (reflection-padded by 1/8 of the side, then cropped back to the original size, as in the
 * usual CIFAR recipe). Applied at the dataset's resolution, before resizing, so the cost does not
 * grow with upsampling. Deterministic for a given batch seed: the trainer derives one per
 * (run seed, epoch, batch), so a rerun or a resumed run sees the same augmented batches.
 */
import * as tf from '@tensorflow/tfjs';
import type { Augmentation } from '../params/fields.js';
import { mulberry32 } from './sample.js';

export interface AugmentOptions {
  readonly ops: readonly Augmentation[];
  /** Seed of this batch's draws. */
  readonly seed: number;
}

/** Pixels of reflection padding for random crops of a `side`-pixel image. */
export const cropPadding = (side: number): number => Math.max(1, Math.round(side / 8));

/** Augments float pixels [n, h, w, c]; returns a new tensor. */
export function augmentBatch(x: tf.Tensor4D, options: AugmentOptions): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const rng = mulberry32(options.seed);
  return tf.tidy(() => {
    let out = x;
    if (options.ops.includes('crop')) {
      const pad = Math.min(cropPadding(Math.min(h, w)), h - 1, w - 1);
      const padded = tf.mirrorPad(out, [[0, 0], [pad, pad], [pad, pad], [0, 0]], 'reflect');
      const H = h + 2 * pad - 1;
      const W = w + 2 * pad - 1;
      const boxes: number[] = [];
      for (let i = 0; i < n; i++) {
        const dy = Math.floor(rng() * (2 * pad + 1));
        const dx = Math.floor(rng() * (2 * pad + 1));
        // box corners on exact pixel centres: the crop is a pure shift, no interpolation
        boxes.push(dy / H, dx / W, (dy + h - 1) / H, (dx + w - 1) / W);
      }
      out = tf.image.cropAndResize(padded, tf.tensor2d(boxes, [n, 4]), tf.range(0, n, 1, 'int32'), [h, w], 'bilinear');
    }
    if (options.ops.includes('flip')) {
      const flags: boolean[] = [];
      for (let i = 0; i < n; i++) flags.push(rng() < 0.5);
      out = tf.where(tf.tensor4d(flags, [n, 1, 1, 1], 'bool').tile([1, h, w, x.shape[3]]), tf.reverse(out, 2), out);
    }
    return out === x ? tf.clone(x) : out;
  });
}
