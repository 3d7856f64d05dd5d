/**
 * Choosing the linear probe's λ (ridge.ts) on the validation split, or, when there is none
 * (validation_fraction=0), on the training images' leave-one-out scores; with a single training image
 * in some class, neither can score λ, and it comes from a prior (ridge-prior.ts). Every λ's scores get the softmax
 * temperature that minimises the validation log-loss (ridge scores are not calibrated probabilities),
 * and the λ with the lowest of those losses wins, exact ties going to the larger λ (the simpler model).
 * Not accuracy first: with a few validation images per class accuracy is flat over much of the grid,
 * and its first tie was the grid's smallest λ; the loss is continuous in λ. The validation split is
 * used for this choice and for the temperature, so its metrics afterwards are not held out (the stage
 * tags that); a chosen λ at either end of the grid is reported, as the optimum may lie beyond it.
 */
import { InternalError, TrainingError } from '../../errors.js';
import { ridgeSolves, type Features, type RidgeSolution } from './ridge.js';
import { yieldToEventLoop } from '../event-loop.js';
import { RIDGE_LAMBDA_PRIOR, RIDGE_TEMPERATURE_PRIOR } from './ridge-prior.js';

/** Whoever did not ask for the probe (head_solver=auto chose it) learns how to do without it. */
const ADAM_HINT = '; or head_solver=adam to train the head with Adam instead (head_solver=auto, the default, chooses this probe on a frozen pretrained backbone)';

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
  /** What scored the candidates: the validation split, or the leave-one-out scores of the training images; or `prior`: nothing could (ridge-prior.ts), no candidates. */
  readonly selectedOn: 'validation' | 'leave_one_out' | 'prior';
  /** λ of the grid left out of a leave-one-out choice because the fit interpolates a training image there (h_ii = 1). */
  readonly unscored: readonly number[];
  /** `low`/`high`: the chosen λ is the grid's smallest/largest solved one (the best may lie beyond); else `none`. */
  readonly atEdge: 'low' | 'high' | 'none';
  /** trace(ZᵀZ) / d of the training features (ridge.ts): λ / lambdaScale is the relative λ the λ prior is calibrated in. */
  readonly lambdaScale: number;
}

/**
 * Leave-one-out scores of the training images: ŷ_(−i) = y_i − (y_i − ŷ_i) / (1 − h_ii), exact for the
 * weighted fit with its weights held fixed (ridge.ts's leverage h_ii); undefined where some h_ii is 1
 * (to rounding): the fit interpolates that image and its left-out score is not defined.
 */
export function leaveOneOutScores(solution: RidgeSolution, train: Features, numClasses: number): Float64Array | undefined {
  const { leverage } = solution;
  if (leverage === undefined || leverage.length !== train.count) throw new InternalError('leaveOneOutScores: the solution was solved without its leverage');
  const scores = ridgeScores(solution, train, numClasses);
  for (let i = 0; i < train.count; i++) {
    const keep = 1 - (leverage[i] ?? Number.NaN);
    if (!(keep > 1e-9)) return undefined;
    for (let c = 0; c < numClasses; c++) {
      const y = train.labels[i] === c ? 1 : 0;
      scores[i * numClasses + c] = y - (y - (scores[i * numClasses + c] ?? 0)) / keep;
    }
  }
  return scores;
}

/**
 * What chooses λ: the validation split when there is one; else leave-one-out, when every class has 2
 * training images; else the prior (ridge-prior.ts). Leaving out the only image of a class leaves a
 * class the fit never saw: every λ then scores 0 on it, and the choice would drift to the largest λ
 * with near-uniform probabilities.
 */
export function lambdaSelection(train: Features, validation: Features, numClasses: number): ProbeChoice['selectedOn'] {
  if (validation.count > 0) return 'validation';
  const counts = new Array<number>(numClasses).fill(0);
  for (const y of train.labels) counts[y] = (counts[y] ?? 0) + 1;
  return counts.every((c) => c >= 2) ? 'leave_one_out' : 'prior';
}

/** The prior's λ (RIDGE_LAMBDA_PRIOR relative) and temperature: nothing is scored, so there are no candidates. */
function priorChoice(train: Features, numClasses: number): ProbeChoice {
  const [only] = ridgeSolves(train, numClasses, { relative: [RIDGE_LAMBDA_PRIOR] });
  if (only?.solution === undefined) {
    throw new TrainingError(`The linear probe's ridge system is not positive definite at its prior λ (${only?.lambda ?? Number.NaN}); the features may hold values too large for float64`);
  }
  return { solution: only.solution, temperature: RIDGE_TEMPERATURE_PRIOR, candidates: [], skipped: [], selectedOn: 'prior', unscored: [], atEdge: 'none', lambdaScale: only.scale };
}

function scored(lambda: number, scores: Float64Array, labels: Int32Array, numClasses: number): Candidate {
  const temperature = fitTemperature(scores, labels, numClasses);
  return { lambda, valAccuracy: accuracyOf(scores, labels, numClasses), valLoss: softmaxLoss(scores, labels, numClasses, temperature), temperature };
}

/**
 * Fits every λ of the grid on `train` and keeps the one with the lowest validation loss (at its fitted
 * temperature); with an empty `validation`, the lowest leave-one-out loss of the training images; and
 * with neither (a class with a single training image), the prior's λ and temperature, one solve
 * (`lambdas`, a grid to score, does not apply then).
 */
export async function chooseRidge(
  train: Features,
  validation: Features,
  numClasses: number,
  options: { readonly lambdas?: readonly number[]; readonly signal?: AbortSignal } = {},
): Promise<ProbeChoice> {
  const { lambdas, signal } = options;
  const selectedOn = lambdaSelection(train, validation, numClasses);
  if (selectedOn === 'prior') return priorChoice(train, numClasses);
  if (!validation.values.every(Number.isFinite)) {
    throw new TrainingError(`The linear probe's validation features (the frozen backbone's pooled output, ${validation.count} images × ${validation.dim} values) hold NaN or infinite values, expected finite ones. Check the backbone's weights and the input preprocessing`);
  }
  const skipped: number[] = [];
  const unscored: number[] = [];
  const solutions: RidgeSolution[] = [];
  const candidates: Candidate[] = [];
  let lambdaScale = Number.NaN;
  for (const { lambda, scale, solution } of ridgeSolves(train, numClasses, lambdas, selectedOn === 'leave_one_out')) {
    // a solve can take seconds (leave-one-out at many images): signals, timers and tracking get their turn between them
    await yieldToEventLoop();
    signal?.throwIfAborted();
    lambdaScale = scale;
    if (solution === undefined) {
      skipped.push(lambda);
      continue;
    }
    const scores = selectedOn === 'validation' ? ridgeScores(solution, validation, numClasses) : leaveOneOutScores(solution, train, numClasses);
    if (scores === undefined) {
      unscored.push(lambda);
      continue;
    }
    solutions.push(solution);
    candidates.push(scored(solution.lambda, scores, selectedOn === 'validation' ? validation.labels : train.labels, numClasses));
  }
  if (solutions.length === 0 && unscored.length === 0) {
    throw new TrainingError(`The linear probe's ridge system is not positive definite for any λ of its grid (${skipped.join(', ')}); the features may hold values too large for float64`);
  }
  if (candidates.length === 0) {
    throw new TrainingError(`The linear probe's leave-one-out scores are undefined at every λ of its grid (the fit interpolates the ${train.count} training images); set validation_fraction above 0 to choose λ on a validation split${ADAM_HINT}`);
  }
  // solutions are in increasing λ: `<=` lets a later (larger) λ win an exact tie
  let best = 0;
  candidates.forEach((c, i) => {
    if (c.valLoss <= (candidates[best]?.valLoss ?? Number.POSITIVE_INFINITY)) best = i;
  });
  const solution = solutions[best];
  const chosen = candidates[best];
  if (solution === undefined || chosen === undefined) throw new InternalError('chooseRidge: no λ candidates');
  const atEdge = candidates.length < 2 ? 'none' : best === 0 ? 'low' : best === candidates.length - 1 ? 'high' : 'none';
  return { solution, temperature: chosen.temperature, candidates, skipped, selectedOn, unscored, atEdge, lambdaScale };
}
