/** Float64 matrix products for the ridge probe (ridge.ts): AᵀB, ZᵀZ and ZZᵀ of row-major arrays. */
/** AᵀB for A (n×p) and B (n×q), row-major, in float64. */
export function crossProduct(a: Float64Array, n: number, p: number, b: Float64Array, q: number): Float64Array {
  const out = new Float64Array(p * q);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < p; j++) {
      const aij = a[i * p + j] ?? 0;
      if (aij === 0) continue;
      const row = j * q;
      for (let c = 0; c < q; c++) out[row + c] = (out[row + c] ?? 0) + aij * (b[i * q + c] ?? 0);
    }
  }
  return out;
}

/** ZᵀZ for Z (n×d), row-major, in float64 (the primal Gram matrix; the upper triangle accumulated, then mirrored). */
export function innerGram(z: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < n; i++) {
    const row = i * d;
    for (let j = 0; j < d; j++) {
      const zij = z[row + j] ?? 0;
      if (zij === 0) continue;
      const at = j * d;
      for (let l = j; l < d; l++) out[at + l] = (out[at + l] ?? 0) + zij * (z[row + l] ?? 0);
    }
  }
  for (let j = 0; j < d; j++) for (let l = 0; l < j; l++) out[j * d + l] = out[l * d + j] ?? 0;
  return out;
}

/** ZZᵀ for Z (n×d), row-major, in float64 (the dual Gram matrix; symmetric, each pair computed once). */
export function outerGram(z: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k <= i; k++) {
      let sum = 0;
      for (let j = 0; j < d; j++) sum += (z[i * d + j] ?? 0) * (z[k * d + j] ?? 0);
      out[i * n + k] = sum;
      out[k * n + i] = sum;
    }
  }
  return out;
}
