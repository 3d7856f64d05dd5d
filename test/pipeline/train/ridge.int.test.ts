/**
 * The linear probe's ridge solve against numpy's solution of the same objective written differently
 * (augmented [X 1] normal equations with an unpenalised bias), in the primal (n > d) and dual (n < d)
 * forms, also on rank-deficient features at the grid's smallest λ (float64 Gram matrix); λ chosen on
 * the validation split; the temperature is the loss minimiser; coded errors for constant features.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { initBackend } from '../../../src/pipeline/backend.js';
import { ridgeGrid, ridgeSolutions, type Features } from '../../../src/pipeline/train/ridge.js';
import { chooseRidge, fitTemperature, leaveOneOutScores, ridgeScores, softmaxLoss } from '../../../src/pipeline/train/ridge-choice.js';
import { venvPython } from '../../support/python.js';

/** The class-balanced weights s, one-hot Y, the design [X 1] and the penalty (none on the bias). */
const NUMPY_SETUP = `
import json, sys
import numpy as np
job = json.load(sys.stdin)
X = np.array(job['x'], dtype=np.float64).reshape(job['n'], job['d'])
y = np.array(job['y']); K = job['k']
counts = np.bincount(y, minlength=K)
s = len(y) / (K * counts[y])
Y = np.eye(K)[y]
Xa = np.hstack([X, np.ones((len(y), 1))])
P = job['lam'] * np.diag([1.0] * job['d'] + [0.0])
`;

const NUMPY = `${NUMPY_SETUP}Wa = np.linalg.solve(Xa.T @ (s[:, None] * Xa) + P, Xa.T @ (s[:, None] * Y))
print(json.dumps({'kernel': Wa[:-1].ravel().tolist(), 'bias': Wa[-1].tolist()}))
`;

/** Leave-one-out by refitting: for each i, the same weighted objective (weights s fixed) without row i, scored on x_i. */
const NUMPY_LOO = `${NUMPY_SETUP}out = []
for i in range(len(y)):
    keep = np.arange(len(y)) != i
    Wa = np.linalg.solve(Xa[keep].T @ (s[keep, None] * Xa[keep]) + P, Xa[keep].T @ (s[keep, None] * Y[keep]))
    out.append((Xa[i] @ Wa).tolist())
print(json.dumps({'scores': [v for row in out for v in row]}))
`;

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** `n` examples of `d` features, class means apart on the first features; unbalanced classes when `skew`. */
function features(n: number, d: number, k: number, seed: number, skew = false): Features {
  const rand = lcg(seed);
  const labels = Int32Array.from({ length: n }, (_, i) => (skew ? Math.max(0, (i % (k + 2)) - 2) : i % k));
  const values = Float32Array.from({ length: n * d }, (_, idx) => {
    const i = Math.floor(idx / d);
    const j = idx % d;
    return (j === (labels[i] ?? 0) ? 2 : 0) + rand() - 0.5;
  });
  return { values, labels, count: n, dim: d };
}

async function numpy(script: string, f: Features, k: number, lam: number): Promise<unknown> {
  const job = { x: Array.from(f.values), y: Array.from(f.labels), n: f.count, d: f.dim, k, lam };
  const pending = promisify(execFile)(venvPython(), ['-c', script], { maxBuffer: 2 ** 24 });
  pending.child.stdin?.end(JSON.stringify(job));
  const parsed: unknown = JSON.parse((await pending).stdout);
  return parsed;
}

async function numpyRidge(f: Features, k: number, lam: number): Promise<{ kernel: number[]; bias: number[] }> {
  const parsed = await numpy(NUMPY, f, k, lam);
  assert.ok(typeof parsed === 'object' && parsed !== null && 'kernel' in parsed && 'bias' in parsed && Array.isArray(parsed.kernel) && Array.isArray(parsed.bias));
  return { kernel: parsed.kernel.map(Number), bias: parsed.bias.map(Number) };
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i] ?? Number.NaN;
    const e = expected[i] ?? Number.NaN;
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a} vs numpy ${e}`);
  }
}

describe('ridge linear probe', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  for (const [form, n, d] of [['primal', 40, 6], ['dual', 9, 20]] as const) {
    it(`equals numpy's class-balanced ridge with an unpenalised bias (${form} form, n=${n}, d=${d})`, async () => {
      const f = features(n, d, 3, 7, true);
      for (const lam of [0.05, 3]) {
        const [ours] = ridgeSolutions(f, 3, [lam]);
        assert.ok(ours !== undefined);
        const ref = await numpyRidge(f, 3, lam);
        assertClose(ours.kernel, ref.kernel, 1e-4, `kernel λ=${lam}`);
        assertClose(ours.bias, ref.bias, 1e-4, `bias λ=${lam}`);
      }
    });
  }

  for (const [form, n, d] of [['primal', 30, 5], ['dual', 9, 20]] as const) {
    it(`leave-one-out scores equal numpy's refit without each image (${form} form, n=${n}, d=${d}, unbalanced classes)`, async () => {
      const f = features(n, d, 3, 13, true);
      for (const lam of [0.02, 5]) {
        const [ours] = ridgeGrid(f, 3, [lam], true).solutions;
        assert.ok(ours?.leverage !== undefined);
        const loo = leaveOneOutScores(ours, f, 3);
        assert.ok(loo !== undefined);
        const parsed = await numpy(NUMPY_LOO, f, 3, lam);
        assert.ok(typeof parsed === 'object' && parsed !== null && 'scores' in parsed && Array.isArray(parsed.scores));
        assertClose(loo, parsed.scores.map(Number), 1e-6, `leave-one-out scores λ=${lam}`);
        // and they are not the in-sample scores (which would make the choice favour the smallest λ)
        const fitted = ridgeScores(ours, f, 3);
        assert.ok(loo.some((v, i) => Math.abs(v - (fitted[i] ?? 0)) > 1e-3));
      }
    });
  }

  it('without a validation split chooses λ by the leave-one-out loss, and leaves out λ where the fit interpolates', async () => {
    // two images per class, 40 features: at λ → 0 the fit interpolates every image (h_ii = 1)
    const train = features(8, 40, 4, 21);
    const empty: Features = { values: new Float32Array(0), labels: new Int32Array(0), count: 0, dim: 40 };
    const lambdas = [1e-14, 1e-3, 1, 1e3];
    const choice = await chooseRidge(train, empty, 4, { lambdas });
    assert.equal(choice.selectedOn, 'leave_one_out');
    assert.deepEqual(choice.unscored, [1e-14]);
    // the chosen λ has the lowest leave-one-out loss at its own temperature, recomputed here
    const losses = ridgeGrid(train, 4, lambdas.slice(1), true).solutions.map((sol) => {
      const loo = leaveOneOutScores(sol, train, 4);
      assert.ok(loo !== undefined);
      return softmaxLoss(loo, train.labels, 4, fitTemperature(loo, train.labels, 4));
    });
    const best = lambdas.slice(1)[losses.indexOf(Math.min(...losses))];
    assert.equal(choice.solution.lambda, best);
    assert.equal(choice.candidates.length, 3);
    await assert.rejects(chooseRidge(train, empty, 4, { lambdas: [1e-14] }), { code: 'ERR_TRAINING', message: /leave-one-out scores are undefined at every λ.*validation_fraction above 0/ });
    const withValidation = await chooseRidge(train, features(8, 40, 4, 22), 4, { lambdas });
    assert.equal(withValidation.selectedOn, 'validation');
    // the event loop gets its turns between λ solves (signals, timers, tracking requests)
    let ticks = 0;
    let solving = true;
    const tick = () => {
      ticks++;
      if (solving) setImmediate(tick);
    };
    setImmediate(tick);
    await chooseRidge(train, features(8, 40, 4, 22), 4);
    solving = false;
    assert.ok(ticks >= 20, `${ticks} event-loop turns during 23 λ solves`);
    // a stop request is honoured between λ solves
    await assert.rejects(chooseRidge(train, features(8, 40, 4, 22), 4, { lambdas, signal: AbortSignal.abort() }), { name: 'AbortError' });
    // one image per class: leaving it out leaves a class never seen, so λ is the prior's (ridge-prior.test.ts), not scored on the grid
    const oneEach = await chooseRidge(features(4, 40, 4, 23), empty, 4, { lambdas });
    assert.equal(oneEach.selectedOn, 'prior');
    assert.ok(!lambdas.includes(oneEach.solution.lambda));
  });

  it('chooses λ on the validation split', async () => {
    const train = features(8, 12, 2, 3);
    const [small, large] = [1e-4, 1e3];
    const solutions = ridgeSolutions(train, 2, [small, large]);
    // validation points labelled by what one λ predicts: that λ is right on every one
    const rand = lcg(11);
    const probe: Features = { values: Float32Array.from({ length: 200 * 12 }, () => 4 * rand() - 2), labels: new Int32Array(200), count: 200, dim: 12 };
    const labelledBy = (which: number): Features => {
      const solution = solutions[which];
      assert.ok(solution !== undefined);
      const scores = ridgeScores(solution, probe, 2);
      return { ...probe, labels: Int32Array.from({ length: probe.count }, (_, i) => ((scores[2 * i + 1] ?? 0) > (scores[2 * i] ?? 0) ? 1 : 0)) };
    };
    const bySmall = labelledBy(0);
    const byLarge = labelledBy(1);
    assert.ok(bySmall.labels.some((y, i) => y !== byLarge.labels[i]), 'the two λ must disagree somewhere for this test to mean anything');
    const onSmall = await chooseRidge(train, bySmall, 2, { lambdas: [large, small] });
    assert.equal(onSmall.solution.lambda, small);
    assert.equal(onSmall.atEdge, 'low');
    assert.equal(onSmall.candidates[0]?.valAccuracy, 1);
    assert.ok((onSmall.candidates[1]?.valAccuracy ?? 1) < 1);
    const onLarge = await chooseRidge(train, byLarge, 2, { lambdas: [small, large] });
    assert.equal(onLarge.solution.lambda, large);
    assert.equal(onLarge.atEdge, 'high');
    const three = await chooseRidge(train, byLarge, 2, { lambdas: [small, 1, large] });
    assert.equal(three.atEdge, three.solution.lambda === 1 ? 'none' : three.solution.lambda === large ? 'high' : 'low');
  });

  it('solves rank-deficient features (n < d, repeated and zero columns) at the smallest λ of the default grid, as numpy does', async () => {
    // the shape of a few-label probe on Lite0: 100 images × 1,280 non-negative features, half of them
    // copies of the other half (the float32 Gram matrix had a negative pivot at this λ: ERR_TRAINING)
    const [n, d, k] = [100, 1280, 10];
    const rand = lcg(5);
    const labels = Int32Array.from({ length: n }, (_, i) => i % k);
    const half = Float32Array.from({ length: (n * d) / 2 }, (_, idx) => {
      const j = idx % (d / 2);
      return Math.max(0, (j % k === labels[Math.floor(idx / (d / 2))] ? 1 : 0) + 3 * (rand() - 0.4)) * (1 + (j % 7));
    });
    const values = Float32Array.from({ length: n * d }, (_, idx) => half[Math.floor(idx / d) * (d / 2) + ((idx % d) % (d / 2))] ?? 0);
    const f: Features = { values, labels, count: n, dim: d };
    const grid = ridgeGrid(f, k);
    assert.deepEqual(grid.skipped, []);
    const smallest = grid.solutions[0];
    assert.ok(smallest !== undefined && smallest.lambda === grid.lambdas[0]);
    const ref = await numpyRidge(f, k, smallest.lambda);
    const ours = ridgeScores(smallest, f, k);
    const theirs = ridgeScores({ lambda: smallest.lambda, kernel: Float64Array.from(ref.kernel), bias: Float64Array.from(ref.bias) }, f, k);
    assertClose(ours, theirs, 1e-4, `training scores at λ=${smallest.lambda}`);
  });

  it('leaves out a λ whose system is not positive definite and chooses among the others', async () => {
    const train = features(20, 5, 2, 4);
    const choice = await chooseRidge(train, features(10, 5, 2, 9), 2, { lambdas: [-1e6, 1] });
    assert.deepEqual(choice.skipped, [-1e6]);
    assert.equal(choice.solution.lambda, 1);
    await assert.rejects(chooseRidge(train, features(10, 5, 2, 9), 2, { lambdas: [-1e6] }), { code: 'ERR_TRAINING', message: /not positive definite for any λ/ });
  });

  it('refuses constant or non-finite features with a coded error naming them', async () => {
    const good = features(20, 5, 2, 4);
    const badValidation = features(10, 5, 2, 9);
    badValidation.values[7] = Number.NaN;
    await assert.rejects(chooseRidge(good, badValidation, 2), { code: 'ERR_TRAINING', message: /validation features.*NaN or infinite/ });
    const constant: Features = { values: new Float32Array(12 * 4).fill(0.5), labels: Int32Array.from({ length: 12 }, (_, i) => i % 3), count: 12, dim: 4 };
    assert.throws(() => ridgeSolutions(constant, 3), { code: 'ERR_TRAINING', message: /frozen backbone's pooled output.*same for every image.*expected a finite value above 0/ });
    const nan: Features = { ...constant, values: Float32Array.from(constant.values, (v, i) => (i === 5 ? Number.NaN : v + i)) };
    assert.throws(() => ridgeSolutions(nan, 3), { code: 'ERR_TRAINING', message: /NaN or infinite/ });
  });

  it('fits the temperature that minimises the validation loss', () => {
    const scores = Float64Array.from([0.9, 0.1, 0.2, 0.7, 0.6, 0.5, 0.1, 0.8]);
    const labels = Int32Array.from([0, 1, 1, 1]);
    const t = fitTemperature(scores, labels, 2);
    const grid = Array.from({ length: 2000 }, (_, i) => 0.1 * 1.005 ** i).filter((x) => x <= 100);
    const bestOnGrid = grid.reduce((b, x) => (softmaxLoss(scores, labels, 2, x) < softmaxLoss(scores, labels, 2, b) ? x : b));
    assert.ok(Math.abs(t - bestOnGrid) / bestOnGrid < 0.01, `temperature ${t} vs grid minimum ${bestOnGrid}`);
    assert.ok(softmaxLoss(scores, labels, 2, t) < softmaxLoss(scores, labels, 2, 1));
  });
});
