/**
 * The linear probe's solver: class-balanced ridge regression of one-hot labels on features,
 *   min_{W,b} Σ_i s_i ‖W x_i + b − y_i‖² + λ ‖W‖²,  s_i = n / (K · n_class(i)),
 * solved in closed form for a grid of λ (one Gram matrix, one Cholesky solve per λ); ridge-choice.ts
 * picks λ on the validation split. The Gram matrix is the smaller of XᵀX (d×d) and XXᵀ (n×n, the dual
 * form): the same solution. It is accumulated in float64: centred features make it singular (the dual
 * always, the primal when n ≤ d or features repeat), and float32 rounding of its zero eigenvalues is
 * larger than the grid's smallest λ, which would make those solves noise or not positive definite.
 */
import { InternalError, TrainingError } from '../../errors.js';
import { cholesky, choleskySolve } from './cholesky.js';
import { crossProduct, innerGram, outerGram } from './gram.js';

export interface Features {
  /** count × dim, row-major. */
  readonly values: Float32Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly dim: number;
}

export interface RidgeSolution {
  readonly lambda: number;
  /** dim × numClasses, row-major (a Dense kernel). */
  readonly kernel: Float64Array;
  readonly bias: Float64Array;
  /** The hat matrix's diagonal h_ii (the fit's leverage of each training example), when asked for: ridge-loo.ts. */
  readonly leverage?: Float64Array;
}

/** λ candidates: half decades from 10⁻⁶ to 10⁵ times the Gram matrix's trace / dim (= n × the mean weighted feature variance). */
export const LAMBDA_EXPONENTS = Array.from({ length: 23 }, (_, i) => -6 + i / 2);

/** Per-example weights n / (K · n_class): every class weighs the same in the fit. */
export function balancedWeights(labels: Int32Array, numClasses: number): Float64Array {
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of labels) counts[y] = (counts[y] ?? 0) + 1;
  const missing = counts.findIndex((c) => c === 0);
  if (missing >= 0) throw new InternalError(`balancedWeights: class ${missing} has no training example (data/sample.ts balancedSplit refuses such a split as a samples_per_class ParamError)`);
  return Float64Array.from(labels, (y) => labels.length / (numClasses * (counts[y] ?? 1)));
}

/** What every λ's solve shares: the Gram matrix (m×m) and right-hand side (m×K) of the balanced, centred data. */
interface RidgeSystem {
  readonly train: Features;
  readonly numClasses: number;
  /** d ≤ n: (ZᵀZ + λI) W = ZᵀR; else the dual (ZZᵀ + λI) A = R, W = ZᵀA. */
  readonly primal: boolean;
  readonly m: number;
  readonly gram: Float64Array;
  readonly rhs: Float64Array;
  /** √s-weighted, centred features (n×d). */
  readonly z: Float64Array;
  readonly mean: Float64Array;
  /** The balanced weights s_i and their sum. */
  readonly weights: Float64Array;
  readonly weightSum: number;
  /** c in the dual Gram matrix's c·√s√sᵀ term (0 in the primal form). */
  readonly lift: number;
  /** trace(ZᵀZ) / d (n × the mean weighted feature variance: Σs = n), the λ grid's unit. */
  readonly scale: number;
}

function ridgeSystem(train: Features, numClasses: number): RidgeSystem {
  const { count: n, dim: d } = train;
  const s = balancedWeights(train.labels, numClasses);
  const total = s.reduce((a, b) => a + b, 0);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (s[i] ?? 0) * (train.values[i * d + j] ?? 0);
  mean.forEach((v, j) => (mean[j] = v / total));
  // targets: one-hot minus the weighted class mean (1/K each), scaled by √s like the features
  const z = new Float64Array(n * d);
  const r = new Float64Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const w = Math.sqrt(s[i] ?? 0);
    for (let j = 0; j < d; j++) z[i * d + j] = w * ((train.values[i * d + j] ?? 0) - (mean[j] ?? 0));
    for (let c = 0; c < numClasses; c++) r[i * numClasses + c] = w * ((train.labels[i] === c ? 1 : 0) - 1 / numClasses);
  }
  const primal = d <= n;
  const m = primal ? d : n;
  const gram = primal ? innerGram(z, n, d) : outerGram(z, n, d);
  const rhs = primal ? crossProduct(z, n, d, r, numClasses) : r;
  let trace = 0;
  for (let k = 0; k < m; k++) trace += gram[k * m + k] ?? 0;
  // The dual Gram matrix has the exact null vector √s (the features are centred under the weights),
  // which rounding makes a tiny eigenvalue of either sign. Adding c·√s√sᵀ (eigenvalue c·Σs = the mean
  // eigenvalue) changes nothing solved here (the right-hand side and Zᵀ are orthogonal to √s) but keeps
  // the system well conditioned at a tiny λ and makes leverage() exact there.
  const lift = primal ? 0 : trace / (n * total);
  if (lift > 0) for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) gram[i * n + k] = (gram[i * n + k] ?? 0) + lift * Math.sqrt((s[i] ?? 0) * (s[k] ?? 0));
  if (!(trace > 0) || !Number.isFinite(trace)) {
    throw new TrainingError(
      `The linear probe's features (the frozen backbone's pooled output, ${n} training images × ${d} values) ${Number.isFinite(trace) ? 'are the same for every image' : 'hold NaN or infinite values'}: total variance ${trace}, expected a finite value above 0. Check the backbone's weights and the input preprocessing`,
    );
  }
  return { train, numClasses, primal, m, gram, rhs, z, mean, weights: s, weightSum: total, lift, scale: trace / d };
}

function solve(sys: RidgeSystem, lambda: number, withLeverage: boolean): RidgeSolution | undefined {
  const { m, numClasses: k } = sys;
  const { count: n, dim: d } = sys.train;
  const a = Float64Array.from(sys.gram);
  for (let i = 0; i < m; i++) a[i * m + i] = (a[i * m + i] ?? 0) + lambda;
  const l = cholesky(a, m);
  if (l === undefined) return undefined;
  const x = choleskySolve(l, m, sys.rhs, k);
  let kernel = x;
  if (!sys.primal) {
    kernel = new Float64Array(d * k);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < d; j++) {
        const zij = sys.z[i * d + j] ?? 0;
        for (let c = 0; c < k; c++) kernel[j * k + c] = (kernel[j * k + c] ?? 0) + zij * (x[i * k + c] ?? 0);
      }
    }
  }
  const bias = new Float64Array(k).fill(1 / k);
  for (let j = 0; j < d; j++) for (let c = 0; c < k; c++) bias[c] = (bias[c] ?? 0) - (sys.mean[j] ?? 0) * (kernel[j * k + c] ?? 0);
  return withLeverage ? { lambda, kernel, bias, leverage: leverage(sys, l, lambda) } : { lambda, kernel, bias };
}

/**
 * h_ii = s_i / Σs + z_iᵀ (ZᵀZ + λI)⁻¹ z_i: the weighted fit's hat diagonal, the intercept's share first
 * (the centred columns are orthogonal to it under the weights). Primal form: ‖L⁻¹ z_i‖² with L the
 * Cholesky factor of ZᵀZ + λI (n·d²/2 operations). Dual form, with G' = ZZᵀ + c·√s√sᵀ factorised:
 * z_iᵀ(ZᵀZ + λI)⁻¹z_i = [ZZᵀ(ZZᵀ + λI)⁻¹]_ii = 1 − λ[(G' + λI)⁻¹]_ii − (s_i/Σs)·cΣs/(cΣs + λ), and
 * [A⁻¹]_ii = ‖L⁻¹ e_i‖² (m³/6 operations).
 */
function leverage(sys: RidgeSystem, l: Float64Array, lambda: number): Float64Array {
  const { m, weights, weightSum } = sys;
  const { count: n, dim: d } = sys.train;
  const out = new Float64Array(n);
  const y = new Float64Array(m);
  for (let i = 0; i < n; i++) {
    // forward substitution L y = b, b = z_i (primal) or e_i (dual: y's entries before i stay 0)
    const from = sys.primal ? 0 : i;
    let norm = 0;
    for (let r = from; r < m; r++) {
      let sum = sys.primal ? (sys.z[i * d + r] ?? 0) : r === i ? 1 : 0;
      for (let k = from; k < r; k++) sum -= (l[r * m + k] ?? 0) * (y[k] ?? 0);
      const v = sum / (l[r * m + r] ?? Number.NaN);
      y[r] = v;
      norm += v * v;
    }
    const share = (weights[i] ?? 0) / weightSum;
    out[i] = sys.primal ? share + norm : share * (lambda / (sys.lift * weightSum + lambda)) + 1 - lambda * norm;
  }
  return out;
}

export interface RidgeGrid {
  readonly solutions: readonly RidgeSolution[];
  /** λ whose system was not positive definite (a negative λ, or rounding at a tiny one): left out. */
  readonly skipped: readonly number[];
  /** The grid, in increasing order. */
  readonly lambdas: readonly number[];
}

/** λ values in the grid's unit trace(ZᵀZ) / d (the λ prior's form: ridge-prior.ts), rather than absolute. */
export interface RelativeLambdas {
  readonly relative: readonly number[];
}

/**
 * The ridge solution for each λ in increasing order (absolute values, or relative ones times
 * trace(ZᵀZ) / d; default: LAMBDA_EXPONENTS relative), sharing one Gram matrix, one λ at a time
 * (undefined where the system is not positive definite), so a caller can yield to the event loop
 * between solves. `scale` is trace(ZᵀZ) / d, the unit of relative λ.
 */
export function* ridgeSolves(
  train: Features,
  numClasses: number,
  lambdas?: readonly number[] | RelativeLambdas,
  withLeverage = false,
): Generator<{ readonly lambda: number; readonly scale: number; readonly solution: RidgeSolution | undefined }> {
  const sys = ridgeSystem(train, numClasses);
  const absolute = lambdas === undefined ? LAMBDA_EXPONENTS.map((e) => sys.scale * 10 ** e) : 'relative' in lambdas ? lambdas.relative.map((r) => sys.scale * r) : lambdas;
  const grid = [...absolute].sort((a, b) => a - b);
  for (const lambda of grid) yield { lambda, scale: sys.scale, solution: solve(sys, lambda, withLeverage) };
}

/** Every λ's solution at once (ridgeSolves collected). */
export function ridgeGrid(train: Features, numClasses: number, lambdas?: readonly number[] | RelativeLambdas, withLeverage = false): RidgeGrid {
  const solutions: RidgeSolution[] = [];
  const skipped: number[] = [];
  const grid: number[] = [];
  for (const { lambda, solution } of ridgeSolves(train, numClasses, lambdas, withLeverage)) {
    grid.push(lambda);
    if (solution === undefined) skipped.push(lambda);
    else solutions.push(solution);
  }
  return { solutions, skipped, lambdas: grid };
}

export function ridgeSolutions(train: Features, numClasses: number, lambdas?: readonly number[] | RelativeLambdas): RidgeSolution[] {
  return [...ridgeGrid(train, numClasses, lambdas).solutions];
}
