/**
 * IEEE 754 half precision, for storing cached activations at half the size. Conversion is
 * round-to-nearest-even; values beyond ±65504 become ±Infinity (post-ReLU activations of the
 * supported backbones stay far below that; `encode` reports how many overflowed).
 */
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant !== 0 ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow → Inf
  if (e <= 0) {
    if (e < -10) return sign; // underflow → ±0
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1)) half++;
  return sign | half;
}

/** Lookup table: all 65536 half values as float32. */
const TABLE = (() => {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    t[h] =
      exp === 0 ? sign * mant * 2 ** -24 : exp === 0x1f ? (mant === 0 ? sign * Infinity : Number.NaN) : sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  return t;
})();

export function fromHalf(h: number): number {
  return TABLE[h & 0xffff] ?? Number.NaN;
}

/** Encodes into `out`; returns how many finite inputs overflowed to ±Infinity. */
export function encodeHalf(src: Float32Array, out: Uint16Array, offset = 0): number {
  let overflow = 0;
  for (let i = 0; i < src.length; i++) {
    const v = src[i] ?? 0;
    const h = toHalf(v);
    if ((h & 0x7fff) === 0x7c00 && Number.isFinite(v)) overflow++;
    out[offset + i] = h;
  }
  return overflow;
}

export function decodeHalf(src: Uint16Array, out: Float32Array, offset = 0): void {
  for (let i = 0; i < src.length; i++) out[offset + i] = TABLE[src[i] ?? 0] ?? Number.NaN;
}
