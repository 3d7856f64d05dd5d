/** Seeded Gaussian samples as feature matrices, for the similarity measures' tests. */
import { mulberry32 } from '../../../src/pipeline/data/sample.js';
import { matrix, type Matrix } from '../../../src/pipeline/recommend/matrix.js';

/** `rows` × `cols` draws of N(mean, 1) per column (Box–Muller), deterministic for the seed. */
export function gaussian(rows: number, cols: number, seed: number, mean: readonly number[] = []): Matrix {
  const rng = mulberry32(seed);
  const data = new Float64Array(rows * cols);
  for (let i = 0; i < rows * cols; i++) {
    const u = 1 - rng();
    const v = rng();
    data[i] = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v) + (mean[i % cols] ?? 0);
  }
  return matrix(rows, cols, data);
}
