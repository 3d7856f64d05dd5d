import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { matrix } from '../../../src/pipeline/recommend/matrix.js';
import { MMD_MAX_ROWS, mmdRbf } from '../../../src/pipeline/recommend/mmd.js';
import { gaussian } from './gaussian.js';

describe('MMD (RBF kernel, median heuristic)', () => {
  it('is 0 for identical samples', () => {
    const x = gaussian(150, 8, 1);
    const r = mmdRbf(x, x);
    assert.equal(r.mmd, 0);
    assert.ok(r.mmd2 <= 0 && r.mmd2 > -0.02, `unbiased MMD² ${r.mmd2}`);
    assert.ok(r.bandwidth > 0);
  });

  it('is near 0 for two samples of one distribution', () => {
    const r = mmdRbf(gaussian(300, 8, 2), gaussian(300, 8, 3));
    assert.ok(Math.abs(r.mmd2) < 0.01, `MMD² ${r.mmd2}`);
    assert.ok(r.mmd < 0.1, `MMD ${r.mmd}`);
  });

  it('is large for well-separated samples, and grows with the distance', () => {
    const source = gaussian(200, 8, 4);
    const values = [0.5, 1, 2, 8].map((d) => mmdRbf(source, gaussian(200, 8, 5, new Array<number>(8).fill(d))).mmd);
    for (let i = 1; i < values.length; i++) assert.ok((values[i] ?? 0) > (values[i - 1] ?? 0), `MMDs ${values.join(', ')}`);
    assert.ok((values.at(-1) ?? 0) > 0.8, `MMD ${values.at(-1)}`);
    assert.ok((values.at(-1) ?? 2) <= Math.SQRT2);
  });

  it('does not depend on the features\' scale (z-scored first)', () => {
    const [a, b] = [gaussian(100, 4, 6), gaussian(100, 4, 7, [1.5])];
    const scaled = (m: typeof a) => matrix(m.rows, m.cols, m.data.map((v, i) => v * (i % 4 === 0 ? 1000 : 0.01)));
    assert.ok(Math.abs(mmdRbf(a, b).mmd - mmdRbf(scaled(a), scaled(b)).mmd) < 1e-9);
  });

  it('is 0 when every point is the same, and caps each sample', () => {
    const flat = matrix(10, 3, new Float64Array(30).fill(2));
    assert.deepEqual(mmdRbf(flat, flat), { mmd: 0, mmd2: 0, bandwidth: 0, rowsPerDomain: [10, 10] });
    assert.deepEqual(mmdRbf(gaussian(MMD_MAX_ROWS + 5, 1, 8), gaussian(3, 1, 9)).rowsPerDomain, [MMD_MAX_ROWS, 3]);
  });
});
