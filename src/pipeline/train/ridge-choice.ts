/**
 * Choosing the linear probe's λ (ridge.ts) on the validation split. Every λ's scores get the softmax
 * temperature that minimises the validation log-loss (ridge scores are not calibrated probabilities),
 * and the λ with the lowest of those losses wins, exact ties going to the larger λ (the simpler model).
 * Not accuracy first: with a few validation images per class accuracy is flat over much of the grid,
 * and its first tie was the grid's smallest λ; the loss is continuous in λ. The validation split is
 * used for this choice and for the temperature, so its metrics afterwards are not held out (the stage
 * tags that); a chosen λ at either end of the grid is reported, as the optimum may lie beyond it.
 */
import { InternalError, TrainingError } from '../../errors.js';
import { ridgeGrid, type Features, type RidgeSolution } from './ridge.js';

/** The softmax temperature's search range: ridge scores of one-hot targets are O(1). */
export const TEMPERATURE_RANGE = [0.1, 100] as const;

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
  /** λ of the grid left out because its system was not positive definite. */
  readonly skipped: readonly number[];
  /** `low`/`high`: the chosen λ is the grid's smallest/largest solved one (the best may lie beyond); else `none`. */
  readonly atEdge: 'low' | 'high' | 'none';
}

/** Fits every λ of the grid on `train` and keeps the one with the lowest validation loss (at its fitted temperature). */
export function chooseRidge(train: Features, validation: Features, numClasses: number, lambdas?: readonly number[]): ProbeChoice {
  if (validation.count === 0) throw new InternalError('chooseRidge: the validation split is empty (head_solver=ridge needs validation_fraction > 0, params/few-label.ts, and balancedSplit then holds at least 1 image per class)');
  const { solutions, skipped } = ridgeGrid(train, numClasses, lambdas);
  if (solutions.length === 0) {
    throw new TrainingError(`The linear probe's ridge system is not positive definite for any λ of its grid (${skipped.join(', ')}); the features may hold values too large for float64`);
  }
  const candidates = solutions.map((solution) => {
    const scores = ridgeScores(solution, validation, numClasses);
    const temperature = fitTemperature(scores, validation.labels, numClasses);
    return { lambda: solution.lambda, valAccuracy: accuracyOf(scores, validation.labels, numClasses), valLoss: softmaxLoss(scores, validation.labels, numClasses, temperature), temperature };
  });
  // solutions are in increasing λ: `<=` lets a later (larger) λ win an exact tie
  let best = 0;
  candidates.forEach((c, i) => {
    if (c.valLoss <= (candidates[best]?.valLoss ?? Number.POSITIVE_INFINITY)) best = i;
  });
  const solution = solutions[best];
  const chosen = candidates[best];
  if (solution === undefined || chosen === undefined) throw new InternalError('chooseRidge: no λ candidates');
  const atEdge = candidates.length < 2 ? 'none' : best === 0 ? 'low' : best === candidates.length - 1 ? 'high' : 'none';
  return { solution, temperature: chosen.temperature, candidates, skipped, atEdge };
}
