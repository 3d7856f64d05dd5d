import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHalf, encodeHalf, fromHalf, toHalf } from '../../../src/pipeline/cache/float16.js';

describe('float16', () => {
  it('encodes exactly representable values exactly', () => {
    for (const v of [0, 1, -2.5, 0.5, 1024, 65504, 2 ** -14, 2 ** -24]) assert.equal(fromHalf(toHalf(v)), v, String(v));
    assert.equal(toHalf(1), 0x3c00);
    assert.equal(toHalf(-2), 0xc000);
    assert.ok(Object.is(fromHalf(toHalf(-0)), -0));
  });
  it('rounds to nearest even with relative error at most 2^-11', () => {
    assert.equal(fromHalf(toHalf(1 + 2 ** -11)), 1, 'tie rounds to even');
    assert.equal(fromHalf(toHalf(1 + 3 * 2 ** -11)), 1 + 2 ** -9, 'tie rounds to even (up)');
    for (let i = 1; i < 2000; i++) {
      const v = i * 0.731;
      assert.ok(Math.abs(fromHalf(toHalf(v)) - v) <= v * 2 ** -11, String(v));
    }
  });
  it('maps overflow to infinity and counts it, keeps NaN', () => {
    const out = new Uint16Array(3);
    assert.equal(encodeHalf(Float32Array.from([70000, -1e6, 1]), out), 2);
    const back = new Float32Array(3);
    decodeHalf(out, back);
    assert.deepEqual(Array.from(back), [Infinity, -Infinity, 1]);
    assert.ok(Number.isNaN(fromHalf(toHalf(Number.NaN))));
  });
});
