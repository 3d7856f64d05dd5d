/**
 * The linear probe's λ prior (train/ridge-prior.ts): used exactly when neither a validation split nor
 * leave-one-out can score λ; λ = c · trace(ZᵀZ)/d on a Gram matrix known in closed form; scale-free;
 * at 1 image per class it interpolates the labelled images, and with equidistant class images it is
 * the nearest-centroid classifier.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ridgeSolutions, type Features } from '../../../src/pipeline/train/ridge.js';
import { chooseRidge, lambdaSelection, ridgeScores } from '../../../src/pipeline/train/ridge-choice.js';
import { RIDGE_LAMBDA_PRIOR, RIDGE_TEMPERATURE_PRIOR } from '../../../src/pipeline/train/ridge-prior.js';

const features = (rows: readonly (readonly number[])[], labels: readonly number[]): Features => ({
  values: Float32Array.from(rows.flat()),
  labels: Int32Array.from(labels),
  count: rows.length,
  dim: rows[0]?.length ?? 0,
});
const empty = (dim: number): Features => ({ values: new Float32Array(0), labels: new Int32Array(0), count: 0, dim });
const argmax = (row: ArrayLike<number>) => Array.from(row).reduce((best, v, i, all) => (v > (all[best] ?? -Infinity) ? i : best), 0);

/** One image per class, 3·e_c in 4 dimensions: centred (mean (1, 1, 1, 0)) they are z_c = 3e_c − (1,1,1,0), ‖z_c‖² = 6, z_c·z_k = −3. */
const oneShot = features([[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]], [0, 1, 2]);

describe('ridge λ prior', () => {
  it('is what chooses λ exactly when there is no validation split and some class has a single image', () => {
    const two = features([[3, 0], [2, 0], [0, 3], [0, 2]], [0, 0, 1, 1]);
    const shortClass = features([[3, 0], [2, 0], [0, 3]], [0, 0, 1]);
    assert.equal(lambdaSelection(two, empty(2), 2), 'leave_one_out');
    assert.equal(lambdaSelection(shortClass, empty(2), 2), 'prior');
    assert.equal(lambdaSelection(shortClass, two, 2), 'validation');
    assert.equal(lambdaSelection(two, two, 2), 'validation');
  });

  it('λ = c · trace(ZᵀZ)/d, the kernel of the closed form Zᵀ(ZZᵀ + λI)⁻¹R, and the prior temperature', async () => {
    const choice = await chooseRidge(oneShot, empty(4), 3);
    assert.equal(choice.selectedOn, 'prior');
    // trace(ZᵀZ) = 3 × 6 = 18, d = 4
    assert.ok(Math.abs(choice.lambdaScale - 4.5) < 1e-12, String(choice.lambdaScale));
    assert.ok(Math.abs(choice.solution.lambda - 4.5 * RIDGE_LAMBDA_PRIOR) < 1e-15, String(choice.solution.lambda));
    assert.equal(choice.temperature, RIDGE_TEMPERATURE_PRIOR);
    assert.deepEqual(choice.candidates, []);
    // ZZᵀ = 9I − 3·11ᵀ is 9 on the targets' space (orthogonal to 1), so W = ZᵀR / (9 + λ) = Zᵀ / (9 + λ)
    const z = [[2, -1, -1, 0], [-1, 2, -1, 0], [-1, -1, 2, 0]];
    for (let j = 0; j < 4; j++) {
      for (let c = 0; c < 3; c++) {
        const expected = (z[c]?.[j] ?? Number.NaN) / (9 + choice.solution.lambda);
        assert.ok(Math.abs((choice.solution.kernel[j * 3 + c] ?? Number.NaN) - expected) < 1e-9, `kernel[${j}][${c}]`);
      }
    }
  });

  it('does not depend on the features\' scale: ×10 features give λ ×100, the kernel ÷10, the same bias', async () => {
    const tenfold = features([[30, 1, 0, 2], [0, 30, 4, 0], [5, 0, 30, 1]], [0, 1, 2]);
    const base = features([[3, 0.1, 0, 0.2], [0, 3, 0.4, 0], [0.5, 0, 3, 0.1]], [0, 1, 2]);
    const [a, b] = [await chooseRidge(base, empty(4), 3), await chooseRidge(tenfold, empty(4), 3)];
    assert.ok(Math.abs(b.solution.lambda / a.solution.lambda - 100) < 1e-6);
    a.solution.kernel.forEach((v, i) => assert.ok(Math.abs((b.solution.kernel[i] ?? Number.NaN) * 10 - v) < 1e-6 * (1 + Math.abs(v)), `kernel[${i}]`));
    a.solution.bias.forEach((v, i) => assert.ok(Math.abs((b.solution.bias[i] ?? Number.NaN) - v) < 1e-6, `bias[${i}]`));
  });

  it('at 1 image per class interpolates the labelled images (a large λ does not), even with correlated ones', async () => {
    const correlated = features([[3, 1, 1, 0.5, 0], [1, 3, 1, 0, 0.5], [1, 1, 3, 0.5, 0.5]], [0, 1, 2]);
    const choice = await chooseRidge(correlated, empty(5), 3);
    const scores = ridgeScores(choice.solution, correlated, 3);
    scores.forEach((v, idx) => assert.ok(Math.abs(v - (idx % 4 === 0 ? 1 : 0)) < 1e-3, `score[${idx}] = ${v}`));
    const [large] = ridgeSolutions(correlated, 3, { relative: [1e3] });
    assert.ok(large !== undefined);
    assert.ok(Math.abs((ridgeScores(large, correlated, 3)[0] ?? Number.NaN) - 1) > 0.1);
  });

  it('with equidistant class images it is the nearest-centroid classifier', async () => {
    const choice = await chooseRidge(oneShot, empty(4), 3);
    let state = 7;
    const rand = () => ((state = (state * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 4 - 1;
    const points = Array.from({ length: 200 }, () => [rand(), rand(), rand(), rand()]);
    const scores = ridgeScores(choice.solution, features(points, points.map(() => 0)), 3);
    const protos = [[3, 0, 0, 0], [0, 3, 0, 0], [0, 0, 3, 0]];
    const moves = new Set<number>();
    points.forEach((x, i) => {
      const nearest = argmax(protos.map((p) => -p.reduce((s, v, j) => s + (v - (x[j] ?? 0)) ** 2, 0)));
      moves.add(nearest);
      assert.equal(argmax(scores.subarray(i * 3, i * 3 + 3)), nearest, `point ${i}`);
    });
    assert.equal(moves.size, 3);
  });
});
