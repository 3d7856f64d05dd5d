import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { renderSweepReport } from '../../src/report/sweep-html.js';
import type { PointResult } from '../../src/sweep/runs.js';

const dims = [{ name: 'learning_rate', values: ['0.01', '0.001'] }, { name: 'dense_units', values: ['64', '<b>'] }];
const point = (lr: string, du: string, val: number | undefined, status: PointResult['status'] = 'FINISHED'): PointResult => ({
  point: { learning_rate: lr, dense_units: du }, key: `dense_units=${du},learning_rate=${lr}`, runId: `r-${lr}-${du}`, status, skipped: false,
  ...(val === undefined ? {} : { valAccuracy: val, testAccuracy: val - 0.01, trainSeconds: 3 }),
});

describe('sweep report HTML', () => {
  const results = [point('0.01', '64', 0.7), point('0.01', '<b>', 0.9), point('0.001', '64', 0.8), point('0.001', '<b>', undefined, 'FAILED')];
  const best = results[1];
  const html = renderSweepReport({ title: 'sweep', createdAt: 't', version: 'v', runId: 'p1', dimensions: dims, fixed: { dataset: 'mnist' }, results, best });

  it('lists every point, marks the best and keeps the exact accuracies', () => {
    assert.equal((html.match(/<tr data-point=/g) ?? []).length, 4);
    assert.equal((html.match(/<tr data-point="[^"]*" class="best">/g) ?? []).length, 1);
    assert.match(html, /data-metric="best_val_accuracy" data-value="0.9"><div class="v">90.00%</);
    assert.match(html, /data-metric="failed_points" data-value="1"/);
  });

  it('draws accuracy against each swept parameter', () => {
    assert.equal((html.match(/<svg /g) ?? []).length, 2);
    assert.match(html, /Accuracy by learning_rate/);
    assert.match(html, /Accuracy by dense_units/);
  });

  it('escapes parameter values', () => {
    assert.doesNotMatch(html, /<b>(?!\(best\)|[0-9])/);
    assert.match(html, /&lt;b&gt;/);
  });
});
