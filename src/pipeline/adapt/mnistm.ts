/**
 * The MNIST-M-style shift (after Ganin et al. 2016, who blend MNIST digits with crops of BSDS500
 * photos), built from the set's own pixels so no other dataset is needed.
 *
 * For each image i (its own stream, see ./shift-common.ts):
 * 1. Draw another image j ≠ i of the same set, uniformly.
 * 2. Crop a window of f·H × f·W from j (f uniform in [minCrop, maxCrop], default [0.3, 0.6]; the
 *    position uniform) and zoom it back to H×W bilinearly. Zoomed windows read as texture and parts of
 *    shapes, rather than a second whole garment behind the first.
 * 3. Colour: an RGB set keeps j's colours. A grayscale set gets a random per-channel ramp
 *    pᶜ = oᶜ + gᶜ·v, gain gᶜ uniform in [minGain, 1] (default 0.25), offset oᶜ uniform in
 *    [0, 255·(1 − gᶜ)]: black becomes a random colour, white another.
 * 4. Blend per channel as MNIST-M does: outᶜ = |imgᶜ − patchᶜ| (a grayscale image counts for all
 *    three channels). The output is always RGB.
 */
import { DataError } from '../../errors.js';
import type { ImageSet } from '../data/types.js';
import { checkRange, checkSeed, checkSet, imageRng, toByte, withImages } from './shift-common.js';

export const MNISTM_DEFAULTS = { minCrop: 0.3, maxCrop: 0.6, minGain: 0.25 } as const;

export interface MnistmOptions {
  readonly seed: number;
  readonly minCrop?: number;
  readonly maxCrop?: number;
  readonly minGain?: number;
}

export function mnistm(set: ImageSet, options: MnistmOptions): ImageSet {
  const { seed, minCrop = MNISTM_DEFAULTS.minCrop, maxCrop = MNISTM_DEFAULTS.maxCrop, minGain = MNISTM_DEFAULTS.minGain } = options;
  checkSeed(seed);
  checkRange('mnistm minCrop', minCrop, 0, 1, true);
  checkRange('mnistm maxCrop', maxCrop, minCrop, 1);
  checkRange('mnistm minGain', minGain, 0, 1);
  const size = checkSet(set);
  if (set.count < 2) throw new DataError(`the mnistm shift blends each image with another one, so it needs at least 2 images, got ${set.count}`);
  const { height: h, width: w, channels: ch, images } = set;
  const out = new Uint8Array(set.count * h * w * 3);
  const gain = new Float64Array(3);
  const offset = new Float64Array(3);
  const patch = new Float64Array(h * w * ch);
  for (let i = 0; i < set.count; i++) {
    const rng = imageRng(seed, 'mnistm', i);
    const drawn = Math.floor(rng() * (set.count - 1));
    const j = drawn >= i ? drawn + 1 : drawn;
    const f = minCrop + (maxCrop - minCrop) * rng();
    const cropH = Math.max(1, Math.round(f * h));
    const cropW = Math.max(1, Math.round(f * w));
    const y0 = Math.floor(rng() * (h - cropH + 1));
    const x0 = Math.floor(rng() * (w - cropW + 1));
    for (let c = 0; c < 3; c++) {
      const g = minGain + (1 - minGain) * rng();
      gain[c] = g;
      offset[c] = rng() * 255 * (1 - g);
    }
    zoomCrop(images, j * size, w, ch, { y0, x0, cropH, cropW, h, w }, patch);
    for (let p = 0; p < h * w; p++) {
      for (let c = 0; c < 3; c++) {
        const colour = ch === 3 ? (patch[p * 3 + c] ?? 0) : (offset[c] ?? 0) + (gain[c] ?? 1) * (patch[p] ?? 0);
        const value = images[i * size + p * ch + (ch === 3 ? c : 0)] ?? 0;
        out[(i * h * w + p) * 3 + c] = toByte(Math.abs(value - colour));
      }
    }
  }
  return withImages(set, out, 3);
}

interface Window {
  readonly y0: number;
  readonly x0: number;
  readonly cropH: number;
  readonly cropW: number;
  /** Output size. */
  readonly h: number;
  readonly w: number;
}

/** Bilinear zoom of a window of the image at `base` (row width `srcW`, `ch` channels) into `out` (h×w×ch). */
function zoomCrop(images: Uint8Array, base: number, srcW: number, ch: number, win: Window, out: Float64Array): void {
  const px = (y: number, x: number, c: number): number => images[base + (y * srcW + x) * ch + c] ?? 0;
  for (let y = 0; y < win.h; y++) {
    const sy = Math.min(Math.max((y + 0.5) * (win.cropH / win.h) - 0.5, 0), win.cropH - 1);
    const ya = Math.floor(sy);
    const yb = Math.min(ya + 1, win.cropH - 1);
    const fy = sy - ya;
    for (let x = 0; x < win.w; x++) {
      const sx = Math.min(Math.max((x + 0.5) * (win.cropW / win.w) - 0.5, 0), win.cropW - 1);
      const xa = Math.floor(sx);
      const xb = Math.min(xa + 1, win.cropW - 1);
      const fx = sx - xa;
      for (let c = 0; c < ch; c++) {
        const top = px(win.y0 + ya, win.x0 + xa, c) * (1 - fx) + px(win.y0 + ya, win.x0 + xb, c) * fx;
        const bottom = px(win.y0 + yb, win.x0 + xa, c) * (1 - fx) + px(win.y0 + yb, win.x0 + xb, c) * fx;
        out[(y * win.w + x) * ch + c] = top * (1 - fy) + bottom * fy;
      }
    }
  }
}
