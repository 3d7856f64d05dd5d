import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromRows } from '../../../src/pipeline/recommend/matrix.js';
import { proxyADistance } from '../../../src/pipeline/recommend/pad.js';
import { gaussian } from './gaussian.js';

describe('proxy A-distance', () => {
  it('is 0 for identical samples (the classifier can only guess)', () => {
    const x = gaussian(200, 8, 1);
    const r = proxyADistance(x, x);
    assert.equal(r.pad, 0);
    assert.equal(r.error, 0.5);
    assert.deepEqual([r.trainPerDomain, r.testPerDomain], [100, 100]);
  });

  it('is near 0 for two samples of one distribution', () => {
    const r = proxyADistance(gaussian(400, 16, 2), gaussian(400, 16, 3));
    assert.ok(r.pad < 0.3, `PAD ${r.pad}`);
    assert.ok(r.error > 0.42, `error ${r.error}`);
  });

  it('is near 2 for well-separated samples', () => {
    const shift = new Array<number>(16).fill(0);
    shift[0] = 6;
    const r = proxyADistance(gaussian(300, 16, 4), gaussian(300, 16, 5, shift));
    assert.ok(r.pad >= 1.9, `PAD ${r.pad}`);
    assert.ok(r.error <= 0.025);
  });

  it('follows the overlap in between: one standard deviation apart gives the Bayes error of about 31%', () => {
    const r = proxyADistance(gaussian(1000, 4, 6), gaussian(1000, 4, 7, [1, 0, 0, 0]));
    // Bayes error Φ(−0.5) = 0.309 → PAD 2(1 − 2·0.309) = 0.76
    assert.ok(Math.abs(r.error - 0.309) < 0.04, `error ${r.error}`);
    assert.ok(r.pad > 0.5 && r.pad < 1.0, `PAD ${r.pad}`);
  });

  it('grows with the distance between the domains', () => {
    const source = gaussian(400, 8, 8);
    const pads = [0.25, 1, 2, 4].map((d) => proxyADistance(source, gaussian(400, 8, 9, [d])).pad);
    for (let i = 1; i < pads.length; i++) assert.ok((pads[i] ?? 0) > (pads[i - 1] ?? 0), `PADs ${pads.join(', ')}`);
  });

  it('uses a balanced sample: the larger domain is cut to the smaller', () => {
    const r = proxyADistance(gaussian(100, 3, 10), gaussian(41, 3, 11));
    assert.deepEqual([r.trainPerDomain, r.testPerDomain], [20, 21]);
  });

  it('refuses samples too small to split or of different widths', () => {
    assert.throws(() => proxyADistance(gaussian(3, 2, 1), gaussian(3, 2, 2)), /at least 4/);
    assert.throws(() => proxyADistance(fromRows([[1, 2]]), fromRows([[1, 2, 3]])), /columns/);
  });
});
