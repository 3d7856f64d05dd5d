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
  it("logs each stage's best validation loss and says plainly when stage 2 never beat stage 1 and its weights were kept", () => {
    const vals = [0.5, 0.4, 0.38, 0.35, 0.36, 0.41, 0.39, 0.37, 0.4];
    const epochs = vals.map((val_loss, epoch) => ({ epoch, stage: epoch < 5 ? 1 : 2, loss: 0.3, accuracy: 0.9, val_loss, val_accuracy: 0.8, epoch_seconds: 1, time: epoch }));
    const kept = [...one, { stage: 2, trainable: ['block5_conv3'], epochsRun: 4, bestEpoch: 3, stoppedEarly: true }];
    const target = { ...phase(0.9, 10, kept), epochs };
    const m = finalMetrics({ target, goalAccuracy: 0, datasetName: 'x' });
    assert.equal(m['stage1_best_val_loss'], 0.35);
    assert.equal(m['stage2_best_val_loss'], 0.37);
    assert.equal(m['stage2_best_epoch'], 3, 'the epoch whose weights the model holds after stage 2');
    const t = finalTags({ target, goalAccuracy: 0, datasetName: 'x' });
    assert.equal(
      t['transferkit.stage_summary'],
      'stage 1: epochs 1-5 trained the head; best epoch 4 (val_loss 0.3500), stopped early; ' +
        "stage 2: epochs 6-9 trained the head and block5_conv3; its best val_loss 0.3700 (epoch 8) did not beat 0.3500, so the model keeps epoch 4's weights, stopped early",
    );
    const improved = { ...target, stages: two };
    assert.match(finalTags({ target: improved, goalAccuracy: 0, datasetName: 'x' })['transferkit.stage_summary'] ?? '', /stage 2: epochs 6-9 trained the head and block5_conv3; best epoch 8 \(val_loss 0\.3700\)$/);
  });
  it('logs no baseline or goal when none was asked for', () => {
    const m = finalMetrics({ target: phase(0.85, 10, one), goalAccuracy: 0, datasetName: 'x' });
    assert.deepEqual(Object.keys(m).sort(), ['stage1_best_epoch', 'stage1_epochs', 'transfer_seconds']);
  });
});
