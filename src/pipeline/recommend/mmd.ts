/**
 * Maximum mean discrepancy (Gretton et al. 2012) between the source and target features with an
 * RBF kernel k(x, y) = exp(−‖x − y‖² / (2σ²)), σ by the median heuristic (the median distance
 * between all pairs of the pooled sample). Features are z-scored with the pooled statistics first,
 * so every feature counts alike. Reported: the unbiased estimate of MMD² (near 0, possibly slightly
 * negative, for two samples of one distribution) and MMD = √max(0, MMD²), in [0, √2].
 *
 * O((m + n)² · d): samples are capped at MMD_MAX_ROWS per domain (the first rows, which the caller
 * draws at random).
 */
import { applyScaling, fitScaling, sliceRows, type Matrix } from './matrix.js';

export const MMD_MAX_ROWS = 1000;

export interface MmdResult {
  readonly mmd: number;
  readonly mmd2: number;
  /** σ of the RBF kernel, in z-scored feature units. */
  readonly bandwidth: number;
  readonly rowsPerDomain: readonly [number, number];
}

/** Squared Euclidean distances between all rows of `x` (n × n, symmetric, zero diagonal). */
function squaredDistances(x: Matrix): Float64Array {
  const { rows: n, cols: d, data } = x;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      let s = 0;
      for (let k = 0; k < d; k++) {
        const diff = (data[i * d + k] ?? 0) - (data[j * d + k] ?? 0);
        s += diff * diff;
      }
      out[i * n + j] = s;
      out[j * n + i] = s;
    }
  }
  return out;
}

function median(values: Float64Array): number {
  const sorted = Float64Array.from(values).sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export function mmdRbf(source: Matrix, target: Matrix): MmdResult {
  if (source.cols !== target.cols) throw new RangeError(`source features have ${source.cols} columns, target ${target.cols}`);
  const m = Math.min(source.rows, MMD_MAX_ROWS);
  const n = Math.min(target.rows, MMD_MAX_ROWS);
  if (m < 2 || n < 2) throw new RangeError(`the MMD needs at least 2 examples per domain, got ${m} and ${n}`);
  const [s, t] = [sliceRows(source, 0, m), sliceRows(target, 0, n)];
  const scaling = fitScaling(s, t);
  const pooled = new Float64Array((m + n) * s.cols);
  pooled.set(applyScaling(s, scaling).data, 0);
  pooled.set(applyScaling(t, scaling).data, m * s.cols);
  const total = m + n;
  const d2 = squaredDistances({ rows: total, cols: s.cols, data: pooled });
  const pairs = new Float64Array((total * (total - 1)) / 2);
  let p = 0;
  for (let i = 0; i < total; i++) for (let j = i + 1; j < total; j++) pairs[p++] = Math.sqrt(d2[i * total + j] ?? 0);
  const sigma = median(pairs);
  // all points equal: the two samples are the same point mass
  if (!(sigma > 0)) return { mmd: 0, mmd2: 0, bandwidth: 0, rowsPerDomain: [m, n] };
  const kernel = (i: number, j: number) => Math.exp(-(d2[i * total + j] ?? 0) / (2 * sigma * sigma));
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < total; i++) {
    for (let j = i + 1; j < total; j++) {
      const k = kernel(i, j);
      if (j < m) xx += 2 * k;
      else if (i >= m) yy += 2 * k;
      else xy += k;
    }
  }
  const mmd2 = xx / (m * (m - 1)) + yy / (n * (n - 1)) - (2 * xy) / (m * n);
  return { mmd: Math.sqrt(Math.max(0, mmd2)), mmd2, bandwidth: sigma, rowsPerDomain: [m, n] };
}
