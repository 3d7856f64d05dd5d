/** The dense step's loss (clipped as Keras clips it), accuracy and logit gradient (p − y, as softmaxCrossEntropy gives it) from the softmax output. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fromProbabilities } from '../../../src/pipeline/train/dense-step.js';

describe('fromProbabilities', () => {
  it('mean clipped cross-entropy, accuracy, and (p − y) / n per sample', () => {
    const probs = Float32Array.from([0.7, 0.2, 0.1, 0.25, 0.5, 0.25]);
    const { loss, accuracy, gradient } = fromProbabilities(probs, Int32Array.from([0, 2]), 3);
    assert.ok(Math.abs(loss - (-Math.log(0.7) - Math.log(0.25)) / 2) < 1e-6);
    assert.equal(accuracy, 0.5);
    const expected = [0.7 - 1, 0.2, 0.1, 0.25, 0.5, 0.25 - 1].map((v) => v / 2);
    gradient.forEach((g, i) => assert.ok(Math.abs(g - (expected[i] ?? 0)) < 1e-7, `gradient ${i}: ${g}`));
  });

  it('a sample whose true-class probability is clipped adds its clipped loss and still its gradient p − y', () => {
    // sample 0: p = 1e-9 for its class (the value clipped to 1e-7); sample 1: p = 1 (clipped to 1 − 1e-7)
    const probs = Float32Array.from([1e-9, 1 - 1e-9, 0, 1, 0, 0]);
    const { loss, gradient } = fromProbabilities(probs, Int32Array.from([0, 0]), 3);
    assert.ok(Math.abs(loss - (-Math.log(1e-7) - Math.log(1 - 1e-7)) / 2) < 1e-6, `loss ${loss}`);
    const expected = [Math.fround(1e-9) - 1, Math.fround(1 - 1e-9), 0, 0, 0, 0].map((v) => v / 2);
    gradient.forEach((g, i) => assert.ok(Math.abs(g - (expected[i] ?? Number.NaN)) < 1e-7, `gradient ${i}: ${g} vs ${expected[i]}`));
  });

  it('scales the gradient down only where the true-class probability is below FLT_MIN', () => {
    const tiny = 1e-40; // a float32 denormal: r = p / FLT_MIN
    const { gradient } = fromProbabilities(Float32Array.from([tiny, 1]), Int32Array.from([0]), 2);
    const r = Math.fround(tiny) / 1.1754944e-38;
    assert.ok(Math.abs((gradient[1] ?? 0) - r) < 1e-9 && (gradient[1] ?? 0) > 0, `gradient ${String(gradient)}`);
  });

  it('normalises the row as Keras does before clipping, and breaks ties toward the first class', () => {
    const { loss, accuracy } = fromProbabilities(Float32Array.from([0.4, 0.4, 0.4]), Int32Array.from([0]), 3);
    assert.ok(Math.abs(loss - Math.log(3)) < 1e-6);
    assert.equal(accuracy, 1);
  });

  it('a NaN probability makes the loss NaN (the trainer stops on it)', () => {
    assert.ok(Number.isNaN(fromProbabilities(Float32Array.from([Number.NaN, 0.5]), Int32Array.from([1]), 2).loss));
  });
});
