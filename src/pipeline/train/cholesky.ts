/**
 * A symmetric positive definite solve in float64 (tf.linalg has no solve): Cholesky factorisation
 * A = L Lᵀ, then forward and back substitution for each right-hand side. Matrices are row-major
 * Float64Arrays; sizes here are at most the feature width (1,280 for EfficientNet-Lite0).
 */
/** The lower factor L of `a` (m×m, symmetric), or undefined when `a` is not positive definite (a pivot ≤ 0 or NaN); `a` is left unchanged. */
export function cholesky(a: Float64Array, m: number): Float64Array | undefined {
  if (a.length !== m * m) throw new RangeError(`cholesky: expected ${m}×${m} values, got ${a.length}`);
  const l = new Float64Array(m * m);
  for (let j = 0; j < m; j++) {
    const rowJ = j * m;
    let diag = a[rowJ + j] ?? Number.NaN;
    for (let k = 0; k < j; k++) {
      const v = l[rowJ + k] ?? 0;
      diag -= v * v;
    }
    if (!(diag > 0)) return undefined;
    const pivot = Math.sqrt(diag);
    l[rowJ + j] = pivot;
    for (let i = j + 1; i < m; i++) {
      const rowI = i * m;
      let sum = a[rowI + j] ?? 0;
      for (let k = 0; k < j; k++) sum -= (l[rowI + k] ?? 0) * (l[rowJ + k] ?? 0);
      l[rowI + j] = sum / pivot;
    }
  }
  return l;
}

/** X with A X = B for A = L Lᵀ; `b` is m×r row-major, the result too. */
export function choleskySolve(l: Float64Array, m: number, b: Float64Array, r: number): Float64Array {
  if (b.length !== m * r) throw new RangeError(`choleskySolve: expected ${m}×${r} right-hand values, got ${b.length}`);
  const y = Float64Array.from(b);
  // L y = b
  for (let i = 0; i < m; i++) {
    const pivot = l[i * m + i] ?? Number.NaN;
    for (let c = 0; c < r; c++) {
      let sum = y[i * r + c] ?? 0;
      for (let k = 0; k < i; k++) sum -= (l[i * m + k] ?? 0) * (y[k * r + c] ?? 0);
      y[i * r + c] = sum / pivot;
    }
  }
  // Lᵀ x = y
  for (let i = m - 1; i >= 0; i--) {
    const pivot = l[i * m + i] ?? Number.NaN;
    for (let c = 0; c < r; c++) {
      let sum = y[i * r + c] ?? 0;
      for (let k = i + 1; k < m; k++) sum -= (l[k * m + i] ?? 0) * (y[k * r + c] ?? 0);
      y[i * r + c] = sum / pivot;
    }
  }
  return y;
}
