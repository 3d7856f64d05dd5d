/**
 * The linear probe's solver: class-balanced ridge regression of one-hot labels on features,
 *   min_{W,b} Σ_i s_i ‖W x_i + b − y_i‖² + λ ‖W‖²,  s_i = n / (K · n_class(i)),
 * solved in closed form for a grid of λ (one Gram matrix, one Cholesky solve per λ), with λ chosen
 * on the validation split (accuracy, then validation loss). Its scores become softmax logits through
 * a temperature fitted on the validation split (ridge scores are not calibrated probabilities).
 * The Gram matrix is the smaller of XᵀX (d×d) and XXᵀ (n×n, the dual form): the same solution.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../errors.js';
import { cholesky, choleskySolve } from './cholesky.js';

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
}

/** λ candidates: half decades from 10⁻⁴ to 10³ times the mean weighted feature variance (the Gram trace / dim). */
export const LAMBDA_EXPONENTS = Array.from({ length: 15 }, (_, i) => -4 + i / 2);
/** The softmax temperature's search range: ridge scores of one-hot targets are O(1). */
export const TEMPERATURE_RANGE = [0.1, 100] as const;

/** Per-example weights n / (K · n_class): every class weighs the same in the fit. */
export function balancedWeights(labels: Int32Array, numClasses: number): Float64Array {
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of labels) counts[y] = (counts[y] ?? 0) + 1;
  const missing = counts.findIndex((c) => c === 0);
  if (missing >= 0) throw new TrainingError(`The linear probe needs training examples of every class; class ${missing} has none`);
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
  readonly z: Float32Array;
  readonly mean: Float64Array;
  /** trace(ZᵀZ) / d: the mean weighted feature variance, the λ grid's unit. */
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
  const z = new Float32Array(n * d);
  const r = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const w = Math.sqrt(s[i] ?? 0);
    for (let j = 0; j < d; j++) z[i * d + j] = w * ((train.values[i * d + j] ?? 0) - (mean[j] ?? 0));
    for (let c = 0; c < numClasses; c++) r[i * numClasses + c] = w * ((train.labels[i] === c ? 1 : 0) - 1 / numClasses);
  }
  const primal = d <= n;
  // computed by TensorFlow (float32), solved in float64
  const [gramT, rhsT] = tf.tidy(() => {
    const zt = tf.tensor2d(z, [n, d]);
    const rt = tf.tensor2d(r, [n, numClasses]);
    return primal ? [tf.matMul(zt, zt, true, false), tf.matMul(zt, rt, true, false)] : [tf.matMul(zt, zt, false, true), rt.clone()];
  });
  const m = primal ? d : n;
  const gram = Float64Array.from(gramT.dataSync());
  const rhs = Float64Array.from(rhsT.dataSync());
  tf.dispose([gramT, rhsT]);
  let trace = 0;
  for (let k = 0; k < m; k++) trace += gram[k * m + k] ?? 0;
  return { train, numClasses, primal, m, gram, rhs, z, mean, scale: trace / d > 0 ? trace / d : 1 };
}

function solve(sys: RidgeSystem, lambda: number): RidgeSolution {
  const { m, numClasses: k } = sys;
  const { count: n, dim: d } = sys.train;
  const a = Float64Array.from(sys.gram);
  for (let i = 0; i < m; i++) a[i * m + i] = (a[i * m + i] ?? 0) + lambda;
  const x = choleskySolve(cholesky(a, m), m, sys.rhs, k);
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
  return { lambda, kernel, bias };
}

/** The ridge solutions for each λ (absolute values; default: LAMBDA_EXPONENTS times the mean weighted feature variance), sharing one Gram matrix. */
export function ridgeSolutions(train: Features, numClasses: number, lambdas?: readonly number[]): RidgeSolution[] {
  const sys = ridgeSystem(train, numClasses);
  return (lambdas ?? LAMBDA_EXPONENTS.map((e) => sys.scale * 10 ** e)).map((lambda) => solve(sys, lambda));
}

/** Scores X W + b (count × K). */
export function ridgeScores(solution: RidgeSolution, data: Features, numClasses: number): Float64Array {
  const out = new Float64Array(data.count * numClasses);
  for (let i = 0; i < data.count; i++) {
    for (let c = 0; c < numClasses; c++) out[i * numClasses + c] = solution.bias[c] ?? 0;
    for (let j = 0; j < data.dim; j++) {
      const x = data.values[i * data.dim + j] ?? 0;
      for (let c = 0; c < numClasses; c++) out[i * numClasses + c] = (out[i * numClasses + c] ?? 0) + x * (solution.kernel[j * numClasses + c] ?? 0);
    }
  }
  return out;
}

export function accuracyOf(scores: Float64Array, labels: Int32Array, numClasses: number): number {
  let correct = 0;
  labels.forEach((y, i) => {
    const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
    let best = 0;
    row.forEach((v, c) => (v > (row[best] ?? Number.NEGATIVE_INFINITY) ? (best = c) : undefined));
    if (best === y) correct++;
  });
  return labels.length === 0 ? Number.NaN : correct / labels.length;
}

/** Mean negative log-likelihood of softmax(t · scores). */
export function softmaxLoss(scores: Float64Array, labels: Int32Array, numClasses: number, t: number): number {
  let sum = 0;
  labels.forEach((y, i) => {
    const row = scores.subarray(i * numClasses, (i + 1) * numClasses);
    const max = Math.max(...row) * t;
    let z = 0;
    row.forEach((v) => (z += Math.exp(v * t - max)));
    sum += max + Math.log(z) - (row[y] ?? 0) * t;
  });
  return sum / labels.length;
}

/** The temperature in TEMPERATURE_RANGE with the lowest loss (golden-section search on log t; the loss is convex in t). */
export function fitTemperature(scores: Float64Array, labels: Int32Array, numClasses: number): number {
  let lo = Math.log(TEMPERATURE_RANGE[0]);
  let hi = Math.log(TEMPERATURE_RANGE[1]);
  const f = (u: number) => softmaxLoss(scores, labels, numClasses, Math.exp(u));
  const g = (Math.sqrt(5) - 1) / 2;
  for (let k = 0; k < 60; k++) {
    const a = hi - g * (hi - lo);
    const b = lo + g * (hi - lo);
    if (f(a) <= f(b)) hi = b;
    else lo = a;
  }
  return Math.exp((lo + hi) / 2);
}

export interface Candidate {
  readonly lambda: number;
  readonly valAccuracy: number;
  readonly valLoss: number;
  readonly temperature: number;
}

export interface ProbeChoice {
  readonly solution: RidgeSolution;
  readonly temperature: number;
  readonly candidates: readonly Candidate[];
}

/** Fits every λ of the grid on `train` and keeps the best on `validation` (accuracy, then loss). */
export function chooseRidge(train: Features, validation: Features, numClasses: number, lambdas?: readonly number[]): ProbeChoice {
  if (validation.count === 0) throw new TrainingError('The linear probe chooses its regularisation on the validation split, which is empty; raise validation_fraction');
  const solutions = ridgeSolutions(train, numClasses, lambdas);
  const candidates = solutions.map((solution) => {
    const scores = ridgeScores(solution, validation, numClasses);
    const temperature = fitTemperature(scores, validation.labels, numClasses);
    return { lambda: solution.lambda, valAccuracy: accuracyOf(scores, validation.labels, numClasses), valLoss: softmaxLoss(scores, validation.labels, numClasses, temperature), temperature };
  });
  let best = 0;
  candidates.forEach((c, i) => {
    const b = candidates[best];
    if (b !== undefined && (c.valAccuracy > b.valAccuracy || (c.valAccuracy === b.valAccuracy && c.valLoss < b.valLoss))) best = i;
  });
  const solution = solutions[best];
  const chosen = candidates[best];
  if (solution === undefined || chosen === undefined) throw new Error('chooseRidge: no λ candidates');
  return { solution, temperature: chosen.temperature, candidates };
}
