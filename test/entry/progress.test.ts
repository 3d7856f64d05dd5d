import { it } from 'node:test';
import assert from 'node:assert/strict';
import { progressLine } from '../../src/entry/progress.js';

it('formats one line per epoch', () => {
  const line = progressLine({ epoch: 2, stage: 1, loss: 0.51234, accuracy: 0.8, val_loss: Number.NaN, val_accuracy: 0.75, epoch_seconds: 4.25, time: 0 }, { phase: 'target', maxEpochs: 20 });
  assert.equal(line, 'epoch  3/20  loss 0.5123  acc 0.8000  val_loss NaN  val_acc 0.7500  4.3s');
});

it('names the stage and the baselines', () => {
  const m = { epoch: 7, stage: 2, loss: 0.5, accuracy: 0.8, val_loss: 0.6, val_accuracy: 0.75, epoch_seconds: 1, time: 0 };
  assert.match(progressLine(m, { phase: 'target', maxEpochs: 12 }), /^stage 2 epoch  8\/12 /);
  assert.match(progressLine({ ...m, stage: 1 }, { phase: 'scratch', maxEpochs: 20 }), /^scratch epoch  8\/20 /);
});
