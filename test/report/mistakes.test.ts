import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TopMistakes } from '../../src/pipeline/mistakes.js';

describe('the most confident mistakes', () => {
  it('keeps the most confident, most confident first, ties in order of arrival', () => {
    const top = new TopMistakes(3);
    [0.5, 0.9, 0.7, 0.9, 0.2, Number.NaN, 0.95].forEach((p, i) => top.add({ index: i, label: 0, predicted: 1, probability: p }));
    assert.deepEqual(top.list.map((m) => m.index), [6, 1, 3]);
  });
  it('keeps nothing when asked for none', () => {
    const top = new TopMistakes(0);
    top.add({ index: 0, label: 0, predicted: 1, probability: 1 });
    assert.deepEqual(top.list, []);
  });
});
