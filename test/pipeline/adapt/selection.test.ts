import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chooseEpoch, entropySignal, selectEpoch, sourceValidationLossSignal } from '../../../src/pipeline/adapt/selection.js';

describe('label-free model selection signals', () => {
  it('sourceValidationLossSignal passes val_loss through unchanged, lower is better', () => {
    const signal = sourceValidationLossSignal([{ val_loss: 0.9 }, { val_loss: 0.5 }, { val_loss: 0.7 }]);
    assert.deepEqual(signal, { name: 'source_val_loss', values: [0.9, 0.5, 0.7], better: 'lower' });
  });

  it('chooseEpoch takes the best finite value, the earliest on ties, in either direction', () => {
    assert.equal(chooseEpoch(entropySignal([1.2, 0.4, 0.4, 0.8])), 1);
    assert.equal(chooseEpoch({ name: 'acc', values: [0.1, 0.9, 0.3, 0.9], better: 'higher' }), 1);
    assert.equal(chooseEpoch(entropySignal([Number.NaN, 2, Number.POSITIVE_INFINITY, 1.5])), 3, 'NaN and ∞ are never chosen');
    assert.equal(chooseEpoch(entropySignal([Number.NaN, 2])), 1);
    assert.throws(() => chooseEpoch(entropySignal([Number.NaN])), /no finite value in 1 epochs/);
    assert.throws(() => chooseEpoch(entropySignal([])), RangeError);
  });

  it('selectEpoch reports the chosen epoch, the oracle epoch and the accuracy gap', () => {
    const report = selectEpoch(entropySignal([1.0, 0.6, 0.3, 0.35]), [0.50, 0.71, 0.68, 0.74]);
    assert.deepEqual(report, { signal: 'target_entropy', chosenEpoch: 2, chosenAccuracy: 0.68, bestEpoch: 3, bestAccuracy: 0.74, gap: 0.74 - 0.68 });
    const perfect = selectEpoch(sourceValidationLossSignal([{ val_loss: 0.4 }, { val_loss: 0.2 }]), [0.6, 0.8]);
    assert.equal(perfect.gap, 0);
    assert.equal(perfect.chosenEpoch, perfect.bestEpoch);
  });

  it('selectEpoch needs one accuracy per epoch', () => {
    assert.throws(() => selectEpoch(entropySignal([1, 2]), [0.5]), /has 2 epochs but there are 1 accuracies/);
  });
});
