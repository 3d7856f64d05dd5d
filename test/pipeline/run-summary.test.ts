import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { finalMetrics, finalTags } from '../../src/pipeline/run-summary.js';
import type { PhaseResult } from '../../src/pipeline/train/stages.js';

const phase = (accuracy: number, seconds: number, stages: PhaseResult['stages']): PhaseResult => ({
  epochs: [], stages, test: { count: 100, loss: 0.3, accuracy, perClassAccuracy: [], confusion: [] },
  bestEpoch: stages.at(-1)?.bestEpoch ?? 0, stoppedEarly: false, trainSeconds: seconds, seconds, cacheTags: { 'transferkit.activation_cache': 'hit' }, cacheSecondsSaved: 2,
});
const one = [{ stage: 1, trainable: [], epochsRun: 5, bestEpoch: 3, stoppedEarly: true }];
const two = [...one, { stage: 2, trainable: ['block5_conv3'], epochsRun: 4, bestEpoch: 7, stoppedEarly: false }];

describe('run summary', () => {
  it('puts the baseline and source next to the transfer, and the goal gap', () => {
    const m = finalMetrics({ target: phase(0.91, 10, two), source: phase(0.93, 50, one), scratch: phase(0.88, 20, one), goalAccuracy: 0.9, datasetName: 'fashion-mnist' });
    assert.equal(m['scratch_test_accuracy'], 0.88);
    assert.ok(Math.abs((m['transfer_minus_scratch_accuracy'] ?? 0) - 0.03) < 1e-12);
    assert.equal(m['source_test_accuracy'], 0.93);
    assert.ok(Math.abs((m['goal_gap'] ?? 0) + 0.01) < 1e-12, 'negative: above the goal');
    assert.equal(m['stage2_epochs'], 4);
    assert.equal(m['stage2_best_epoch'], 7);
  });
  it('says in words what each stage trained, the comparison and the goal', () => {
    const t = finalTags({ target: phase(0.85, 10, two), scratch: phase(0.88, 20, one), goalAccuracy: 0.9, datasetName: 'fashion-mnist' });
    assert.equal(t['transferkit.stage_summary'], 'stage 1: epochs 1-5 trained the head; best epoch 4, stopped early; stage 2: epochs 6-9 trained the head and block5_conv3; best epoch 8');
    assert.equal(t['transferkit.transfer_vs_scratch'], 'transfer 85.00% in 10.0 s vs from scratch 88.00% in 20.0 s (-3.00 points)');
    assert.equal(t['transferkit.goal'], 'test accuracy 85.00% on fashion-mnist is 5.00 points below the 90.00% goal');
    assert.equal(t['transferkit.activation_cache_seconds_saved'], '4.0');
  });
  it('logs no baseline or goal when none was asked for', () => {
    const m = finalMetrics({ target: phase(0.85, 10, one), goalAccuracy: 0, datasetName: 'x' });
    assert.deepEqual(Object.keys(m).sort(), ['stage1_best_epoch', 'stage1_epochs', 'transfer_seconds']);
  });
});
