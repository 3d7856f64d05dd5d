/**
 * Proxy A-distance (Ben-David et al. 2007; Ganin et al. 2016): how well a linear classifier tells
 * the source domain's features from the target's. A balanced sample (m rows of each domain, already
 * in random order) is split in halves: an L2-regularised logistic regression learns "source or
 * target" on the first half of each domain, its error ε is measured on the second half, and
 * PAD = 2(1 − 2ε). ε = 0.5 (chance: the domains look alike) gives 0; ε = 0 (perfectly told apart)
 * gives 2. A classifier worse than chance on the held-out half is counted as chance (PAD 0).
 *
 * Features are z-scored with the training half's statistics. Training is full-batch Adam for a fixed
 * number of steps from zero weights: deterministic, no seed needed.
 */
import { applyScaling, fitScaling, sliceRows, type Matrix } from './matrix.js';

export interface DomainClassifierOptions {
  readonly steps: number;
  readonly learningRate: number;
  /** L2 penalty on the weights (not the bias), added to the mean log loss. */
  readonly l2: number;
}

export const DOMAIN_CLASSIFIER: DomainClassifierOptions = { steps: 300, learningRate: 0.05, l2: 0.01 };

export interface PadResult {
  /** 2(1 − 2ε), in [0, 2]. */
  readonly pad: number;
  /** The domain classifier's error on the held-out half (both domains, equally many rows). */
  readonly error: number;
  readonly trainPerDomain: number;
  readonly testPerDomain: number;
}

interface Linear {
  readonly w: Float64Array;
  readonly b: number;
}

const sigmoid = (z: number): number => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function score(x: Float64Array, row: number, model: Linear): number {
  const d = model.w.length;
  let z = model.b;
  for (let j = 0; j < d; j++) z += (x[row * d + j] ?? 0) * (model.w[j] ?? 0);
  return z;
}

/** Logistic regression of label 0 (rows of `zero`) against label 1 (rows of `one`). */
export function trainLogistic(zero: Matrix, one: Matrix, o: DomainClassifierOptions = DOMAIN_CLASSIFIER): Linear {
  const d = zero.cols;
  const n = zero.rows + one.rows;
  const x = new Float64Array(n * d);
  x.set(zero.data, 0);
  x.set(one.data, zero.rows * d);
  const w = new Float64Array(d);
  let b = 0;
  const [m, v] = [new Float64Array(d + 1), new Float64Array(d + 1)];
  const [beta1, beta2, eps] = [0.9, 0.999, 1e-8];
  const grad = new Float64Array(d + 1);
  for (let step = 1; step <= o.steps; step++) {
    grad.fill(0);
    for (let i = 0; i < n; i++) {
      const residual = sigmoid(score(x, i, { w, b })) - (i < zero.rows ? 0 : 1);
      for (let j = 0; j < d; j++) grad[j] = (grad[j] ?? 0) + residual * (x[i * d + j] ?? 0);
      grad[d] = (grad[d] ?? 0) + residual;
    }
    for (let j = 0; j <= d; j++) {
      const g = (grad[j] ?? 0) / n + (j < d ? o.l2 * (w[j] ?? 0) : 0);
      m[j] = beta1 * (m[j] ?? 0) + (1 - beta1) * g;
      v[j] = beta2 * (v[j] ?? 0) + (1 - beta2) * g * g;
      const delta = (o.learningRate * ((m[j] ?? 0) / (1 - beta1 ** step))) / (Math.sqrt((v[j] ?? 0) / (1 - beta2 ** step)) + eps);
      if (j < d) w[j] = (w[j] ?? 0) - delta;
      else b -= delta;
    }
  }
  return { w, b };
}

function errors(m: Matrix, label: 0 | 1, model: Linear): number {
  let wrong = 0;
  for (let i = 0; i < m.rows; i++) {
    const predicted = score(m.data, i, model) > 0 ? 1 : 0;
    if (predicted !== label) wrong++;
  }
  return wrong;
}

export function proxyADistance(source: Matrix, target: Matrix, options: DomainClassifierOptions = DOMAIN_CLASSIFIER): PadResult {
  if (source.cols !== target.cols) throw new RangeError(`source features have ${source.cols} columns, target ${target.cols}`);
  const rows = Math.min(source.rows, target.rows);
  if (rows < 4) throw new RangeError(`the proxy A-distance needs at least 4 examples per domain, got ${rows}`);
  const half = Math.floor(rows / 2);
  const [trainS, trainT] = [sliceRows(source, 0, half), sliceRows(target, 0, half)];
  const scaling = fitScaling(trainS, trainT);
  const model = trainLogistic(applyScaling(trainS, scaling), applyScaling(trainT, scaling), options);
  const [testS, testT] = [applyScaling(sliceRows(source, half, rows), scaling), applyScaling(sliceRows(target, half, rows), scaling)];
  const error = (errors(testS, 0, model) + errors(testT, 1, model)) / (testS.rows + testT.rows);
  return { pad: Math.min(2, Math.max(0, 2 * (1 - 2 * error))), error, trainPerDomain: half, testPerDomain: rows - half };
}
