/** An adaptation's epochs read back from a checkpoint or a phase result: NaN where a method has no value stays NaN. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { adaptEpochs } from '../../../src/pipeline/adapt/epoch-metrics.js';

const base = { epoch: 0, stage: 1, loss: 1.5, accuracy: 0.5, val_loss: 1.2, val_accuracy: 0.6, epoch_seconds: 2, time: 1000, class_loss: 1.4, target_entropy: 0.9, target_test_accuracy: 0.3 };

describe('adaptEpochs', () => {
  it('keeps the method\'s numbers, NaN included (no pseudo-label selected)', () => {
    const saved = { ...base, pseudo_label_rate: 0, pseudo_label_accuracy: Number.NaN };
    const [e] = adaptEpochs([saved]);
    assert.equal(e?.pseudo_label_rate, 0);
    assert.ok(Number.isNaN(e?.pseudo_label_accuracy));
    assert.ok(!(e !== undefined && 'coral_distance' in e), 'no key the method does not log');
  });

  it('refuses epochs without the adaptation numbers (a supervised step\'s)', () => {
    const { class_loss: _c, target_entropy: _t, target_test_accuracy: _a, ...supervised } = base;
    assert.throws(() => adaptEpochs([supervised]), /target_entropy|class_loss/);
  });
});
