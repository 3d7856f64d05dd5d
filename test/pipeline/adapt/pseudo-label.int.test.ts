import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { fixMatchLoss, maskedCrossEntropy, selectConfident, type PseudoLabels } from '../../../src/pipeline/adapt/pseudo-label.js';

interface Read {
  mask: number[];
  labels: number[];
  confidence: number[];
  rate: number;
}
function read(sel: PseudoLabels): Read {
  const out = { mask: Array.from(sel.mask.dataSync()), labels: Array.from(sel.labels.dataSync()), confidence: Array.from(sel.confidence.dataSync()), rate: sel.rate.dataSync()[0] ?? Number.NaN };
  tf.dispose([sel.mask, sel.labels, sel.confidence, sel.rate]);
  return out;
}
const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] ?? Number.NaN;
  t.dispose();
  return v;
};

describe('selectConfident', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));
  const probs = [
    [0.95, 0.05, 0], // exactly τ = 0.95: selected
    [0.9499, 0.0501, 0], // just below: not
    [0.1, 0.2, 0.7],
    [0, 0.02, 0.98],
    [0.3, 0.4, 0.3],
  ];

  it('selects max probability ≥ τ (exactly τ included) and returns argmax labels and the rate', () => {
    const sel = read(selectConfident(tf.tensor2d(probs), 0.95));
    assert.deepEqual(sel.mask, [1, 0, 0, 1, 0]);
    assert.deepEqual(sel.labels, [0, 0, 2, 2, 1]);
    assert.equal(sel.rate, Math.fround(2 / 5), "float32 rate");
    assert.ok(Math.abs((sel.confidence[2] ?? 0) - 0.7) < 1e-6);
  });

  it('τ = 0 selects all, τ = 1 only certain rows; the rate follows', () => {
    assert.deepEqual(read(selectConfident(tf.tensor2d(probs), 0)).rate, 1);
    const certain = read(selectConfident(tf.tensor2d([[1, 0], [0.5, 0.5]]), 1));
    assert.deepEqual(certain.mask, [1, 0]);
    assert.equal(certain.rate, 0.5);
    assert.equal(read(selectConfident(tf.tensor2d(probs), 0.99)).rate, 0);
  });

  it('an empty batch gives an empty mask and rate 0', () => {
    const sel = read(selectConfident(tf.zeros([0, 3]), 0.5));
    assert.deepEqual(sel.mask, []);
    assert.equal(sel.rate, 0);
  });

  it('perClassCap keeps the k most confident per predicted class, ties to the lower index', () => {
    const p = [
      [0.91, 0.09], // class 0
      [0.99, 0.01], // class 0
      [0.95, 0.05], // class 0
      [0.95, 0.05], // class 0, ties with row 2
      [0.2, 0.8], // class 1, below τ
      [0.03, 0.97], // class 1
    ];
    const capped = read(selectConfident(tf.tensor2d(p), 0.9, { perClassCap: 2 }));
    assert.deepEqual(capped.mask, [0, 1, 1, 0, 0, 1]);
    assert.equal(capped.rate, 3 / 6);
    assert.deepEqual(read(selectConfident(tf.tensor2d(p), 0.9, { perClassCap: 10 })).mask, [1, 1, 1, 1, 0, 1]);
    assert.deepEqual(read(selectConfident(tf.tensor2d(p), 0.9, { perClassCap: 1 })).mask, [0, 1, 0, 0, 0, 1]);
  });

  it('rejects a bad τ or cap and leaks nothing', () => {
    const x = tf.tensor2d(probs);
    const before = tf.memory().numTensors;
    for (const bad of [-0.1, 1.1, Number.NaN]) assert.throws(() => selectConfident(x, bad), RangeError);
    for (const bad of [0, 1.5, -1]) assert.throws(() => selectConfident(x, 0.5, { perClassCap: bad }), RangeError);
    read(selectConfident(x, 0.5, { perClassCap: 1 }));
    assert.equal(tf.memory().numTensors, before);
    x.dispose();
  });
});

describe('masked cross-entropy and the FixMatch loss', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));
  const weak = [[0.97, 0.03], [0.6, 0.4], [0.02, 0.98]];
  const strongLogits = [[2, 0], [0, 1], [1, 1]];

  it('averages −log softmax(strong)[pseudo-label] over selected rows, divided by the whole batch', () => {
    const logSoftmax0 = 2 - Math.log(Math.exp(2) + 1); // row 0, label 0
    const logSoftmax2 = 1 - Math.log(2 * Math.exp(1)); // row 2, label 1
    const expected = -(logSoftmax0 + logSoftmax2) / 3;
    const got = scalar(tf.tidy(() => fixMatchLoss(tf.tensor2d(weak), tf.tensor2d(strongLogits), 0.95)));
    assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  });

  it('takes strong-view probabilities too', () => {
    const strongProbs = [[0.8, 0.2], [0.5, 0.5], [0.25, 0.75]];
    const expected = -(Math.log(0.8) + Math.log(0.75)) / 3;
    const got = scalar(tf.tidy(() => fixMatchLoss(tf.tensor2d(weak), tf.tensor2d(strongProbs), 0.95, { strongKind: 'probabilities' })));
    assert.ok(Math.abs(got - expected) < 1e-6, `${got} vs ${expected}`);
  });

  it('is exactly 0, not NaN, when nothing is selected, even with zero probabilities or an empty batch', () => {
    assert.equal(scalar(tf.tidy(() => fixMatchLoss(tf.tensor2d(weak), tf.tensor2d(strongLogits), 0.999))), 0);
    assert.equal(scalar(tf.tidy(() => fixMatchLoss(tf.tensor2d(weak), tf.tensor2d([[0, 1], [1, 0], [1, 0]]), 0.999, { strongKind: 'probabilities' }))), 0);
    assert.equal(scalar(tf.tidy(() => fixMatchLoss(tf.zeros([0, 2]), tf.zeros([0, 2]), 0.5))), 0);
    const grad = tf.tidy(() => tf.grad((s: tf.Tensor) => fixMatchLoss(tf.tensor2d(weak), tf.reshape(s, [3, 2]), 0.999))(tf.tensor2d(strongLogits)));
    assert.deepEqual(Array.from(grad.dataSync()), [0, 0, 0, 0, 0, 0]);
    grad.dispose();
  });

  it('trains only the strong view: its gradient is softmax − onehot on selected rows / n', () => {
    const weakT = tf.tensor2d(weak);
    const grad = tf.tidy(() => tf.grad((s: tf.Tensor) => fixMatchLoss(weakT, tf.reshape(s, [3, 2]), 0.95))(tf.tensor2d(strongLogits)));
    const sm0 = Math.exp(2) / (Math.exp(2) + 1);
    const expected = [(sm0 - 1) / 3, (1 - sm0) / 3, 0, 0, 0.5 / 3, -0.5 / 3];
    Array.from(grad.dataSync()).forEach((v, i) => assert.ok(Math.abs(v - (expected[i] ?? Number.NaN)) < 1e-6, `${i}: ${v} vs ${expected[i]}`));
    tf.dispose([weakT, grad]);
  });

  it('maskedCrossEntropy uses a given selection; shapes must agree', () => {
    tf.tidy(() => {
      const selection = { mask: tf.tensor1d([0, 1, 0]), labels: tf.tensor1d([0, 0, 0], 'int32') };
      const got = maskedCrossEntropy(selection, tf.tensor2d(strongLogits)).dataSync()[0] ?? Number.NaN;
      assert.ok(Math.abs(got - -(0 - Math.log(1 + Math.E)) / 3) < 1e-6);
      assert.throws(() => maskedCrossEntropy(selection, tf.zeros([2, 2])), /covers 3 examples but the output has 2/);
      assert.throws(() => fixMatchLoss(tf.zeros([3, 2]), tf.zeros([3, 3]), 0.5), /differ in shape/);
    });
  });
});
