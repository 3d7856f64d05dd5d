/**
 * Deterministic domain shifts made from the images' own pixels, for an offline adaptation benchmark
 * (Fashion-MNIST → shifted Fashion-MNIST) that needs no other dataset. Each takes and returns an
 * ImageSet (uint8 NHWC; labels copied unchanged); seeded ones give the same bytes for the same seed
 * and different bytes for different seeds.
 *
 * - `invert`: v → 255 − v. No seed.
 * - `mnistm`: blend with a colourised, zoomed crop of another image of the set, |img − patch| per
 *   channel as in MNIST-M; grayscale in, RGB out. Construction and defaults in ./mnistm.ts.
 * - `blur`: separable Gaussian, σ = 1 px by default (kernel radius ⌈3σ⌉, edges replicated). No seed.
 * - `noise`: additive Gaussian noise, std 0.18 of full scale by default (≈ 46 grey levels; the
 *   severity-3 std of ImageNet-C's gaussian_noise), rounded and clipped to [0, 255].
 * Every image draws from its own stream (./shift-common.ts), so an image's shift depends only on
 * (seed, shift, its index), not on the rest of the set. Plain typed-array loops: 10,000 28×28 images
 * take under a second per shift on this project's machines.
 */
import type { ImageSet } from '../data/types.js';
import { mnistm, type MnistmOptions } from './mnistm.js';
import { checkRange, checkSeed, checkSet, imageRng, normalSource, toByte, withImages } from './shift-common.js';

export { mnistm, MNISTM_DEFAULTS, type MnistmOptions } from './mnistm.js';

export const SHIFT_DEFAULTS = { blurSigma: 1, noiseStd: 0.18 } as const;

export type ShiftSpec =
  | { readonly kind: 'invert' }
  | ({ readonly kind: 'mnistm' } & MnistmOptions)
  | { readonly kind: 'blur'; readonly sigma?: number }
  | { readonly kind: 'noise'; readonly seed: number; readonly std?: number };

export type ShiftKind = ShiftSpec['kind'];
export const SHIFT_KINDS: readonly ShiftKind[] = ['invert', 'mnistm', 'blur', 'noise'];

export function invert(set: ImageSet): ImageSet {
  checkSet(set);
  return withImages(set, set.images.map((v) => 255 - v));
}

export function noise(set: ImageSet, options: { readonly seed: number; readonly std?: number }): ImageSet {
  const { seed, std = SHIFT_DEFAULTS.noiseStd } = options;
  checkSeed(seed);
  checkRange('noise std', std, 0, 1);
  const size = checkSet(set);
  const out = new Uint8Array(set.images.length);
  const scale = std * 255;
  for (let i = 0; i < set.count; i++) {
    const normal = normalSource(imageRng(seed, 'noise', i));
    for (let p = i * size; p < (i + 1) * size; p++) out[p] = toByte((set.images[p] ?? 0) + scale * normal());
  }
  return withImages(set, out);
}

/** Normalised 1-D Gaussian weights for offsets −r..r, r = ⌈3σ⌉. */
function gaussianKernel(sigma: number): Float64Array {
  const r = Math.ceil(3 * sigma);
  const k = Float64Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = k.reduce((a, b) => a + b, 0);
  return k.map((v) => v / total);
}

export function blur(set: ImageSet, options: { readonly sigma?: number } = {}): ImageSet {
  const { sigma = SHIFT_DEFAULTS.blurSigma } = options;
  checkRange('blur sigma', sigma, 0, 64, true);
  const size = checkSet(set);
  const { height: h, width: w, channels: ch } = set;
  const kernel = gaussianKernel(sigma);
  const r = (kernel.length - 1) / 2;
  const clampTo = (v: number, max: number): number => (v < 0 ? 0 : v > max ? max : v);
  const rows = new Float64Array(size);
  const out = new Uint8Array(set.images.length);
  for (let i = 0; i < set.count; i++) {
    const base = i * size;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < ch; c++) {
          let acc = 0;
          for (let k = -r; k <= r; k++) acc += (kernel[k + r] ?? 0) * (set.images[base + (y * w + clampTo(x + k, w - 1)) * ch + c] ?? 0);
          rows[(y * w + x) * ch + c] = acc;
        }
      }
    }
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        for (let c = 0; c < ch; c++) {
          let acc = 0;
          for (let k = -r; k <= r; k++) acc += (kernel[k + r] ?? 0) * (rows[(clampTo(y + k, h - 1) * w + x) * ch + c] ?? 0);
          out[base + (y * w + x) * ch + c] = toByte(acc);
        }
      }
    }
  }
  return withImages(set, out);
}

/** Applies one shift described as data (e.g. from a benchmark's configuration). */
export function applyShift(set: ImageSet, spec: ShiftSpec): ImageSet {
  switch (spec.kind) {
    case 'invert':
      return invert(set);
    case 'mnistm':
      return mnistm(set, spec);
    case 'blur':
      return blur(set, spec);
    case 'noise':
      return noise(set, spec);
  }
}
