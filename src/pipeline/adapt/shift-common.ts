/**
 * Shared plumbing of the pixel shifts (./shift.ts, ./mnistm.ts): per-image seeded streams, option
 * checks, byte clamping and building the output ImageSet. No shift logic here.
 */
import { DataError } from '../../errors.js';
import { deriveSeed, mulberry32, type Rng } from '../data/sample.js';
import type { ImageSet } from '../data/types.js';

/** Stream salts, one per seeded shift, so `mnistm` and `noise` with one seed draw independently. */
const STREAM = { mnistm: 0x4d4e, noise: 0x4e4f } as const;

/** Image `index`'s own stream: mulberry32(deriveSeed(deriveSeed(seed, salt(shift)), index)). */
export function imageRng(seed: number, shift: keyof typeof STREAM, index: number): Rng {
  return mulberry32(deriveSeed(deriveSeed(seed, STREAM[shift]), index));
}

export function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
}

export function checkRange(name: string, value: number, low: number, high: number, lowOpen = false): void {
  const ok = Number.isFinite(value) && (lowOpen ? value > low : value >= low) && value <= high;
  if (!ok) throw new RangeError(`${name} must be in ${lowOpen ? '(' : '['}${low}, ${high}], got ${value}`);
}

/** Checks that the buffer matches the declared shape; returns the bytes per image. */
export function checkSet(set: ImageSet): number {
  const size = set.height * set.width * set.channels;
  if (set.images.length !== set.count * size) {
    throw new DataError(`image set holds ${set.images.length} bytes, not ${set.count} × ${set.height}×${set.width}×${set.channels}`);
  }
  return size;
}

/** Rounds and clips to a uint8 value. */
export const toByte = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/** A new ImageSet with `images` (and a copy of `set`'s labels). */
export const withImages = (set: ImageSet, images: Uint8Array, channels: 1 | 3 = set.channels): ImageSet => ({
  images,
  labels: set.labels.slice(),
  count: set.count,
  height: set.height,
  width: set.width,
  channels,
});

/**
 * Standard normal draws from `rng` by Box–Muller: each pair of uniforms gives two independent
 * normals (cos and sin), the second kept for the next call.
 */
export function normalSource(rng: Rng): () => number {
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - rng())); // 1 − rng() ∈ (0, 1]: the log is finite
    const angle = 2 * Math.PI * rng();
    spare = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  };
}
