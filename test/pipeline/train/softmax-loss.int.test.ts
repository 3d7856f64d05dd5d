/** The stages' loss: tfjs's categorical cross-entropy value, Keras 3's gradient (p − y at the logits, never clipped). */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { softmaxCrossEntropy } from '../../../src/pipeline/train/softmax-loss.js';

// rows of logits: an ordinary one, a saturated wrong one (true class 30 below: p ≈ 1e-13), a saturated right one
const LOGITS = [[1, 0.5, -1], [0, 30, 0], [40, 0, 0]];
const LABELS = [0, 0, 0];
const rows = (t: tf.Tensor) => tf.reshape<tf.Rank.R2>(t, [3, 3]).arraySync();
const firstProbability = (m: tf.LayersModel) => {
  const out = m.predict(tf.ones([1, 2]));
  if (Array.isArray(out)) throw new Error('one output expected');
  return out.dataSync()[0] ?? Number.NaN;
};

describe('softmaxCrossEntropy', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  it("has tfjs's value, clipped probabilities included", () => {
    const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3).toFloat();
    const p = tf.softmax(tf.tensor2d(LOGITS));
    const ours = Array.from(softmaxCrossEntropy(y, p).dataSync());
    const theirs = Array.from(tf.metrics.categoricalCrossentropy(y, p).dataSync());
    ours.forEach((v, i) => assert.ok(Math.abs(v - (theirs[i] ?? Number.NaN)) < 1e-5, `row ${i}: ${v} vs ${theirs[i]}`));
    assert.ok((ours[1] ?? 0) > 16, 'the saturated wrong row is clipped at −log 1e-7');
  });

  it('gives p − y at the logits for every row, where tfjs gives the saturated wrong row nothing', () => {
    const y = tf.oneHot(tf.tensor1d(LABELS, 'int32'), 3).toFloat();
    const z = tf.tensor2d(LOGITS);
    const ours = rows(tf.grad((logits) => tf.sum(softmaxCrossEntropy(y, tf.softmax(logits))))(z));
    const theirs = rows(tf.grad((logits) => tf.sum(tf.metrics.categoricalCrossentropy(y, tf.softmax(logits))))(z));
    const p = tf.softmax(z).arraySync();
    const expected = p.map((row, i) => row.map((v, j) => v - (j === LABELS[i] ? 1 : 0)));
    expected.forEach((row, i) => row.forEach((v, j) => assert.ok(Math.abs((ours[i]?.[j] ?? Number.NaN) - v) < 1e-5, `row ${i} class ${j}: ${ours[i]?.[j]} vs ${v}`)));
    // the saturated wrong row: ours pushes the true logit up by ≈ 1; tfjs's clipped loss does not move it
    assert.ok(Math.abs((ours[1]?.[0] ?? 0) + 1) < 1e-5);
    assert.deepEqual(theirs[1], [0, 0, 0]);
  });

  it('trains a model out of saturation where tfjs’s loss leaves it stuck', async () => {
    const make = () => {
      const m = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, activation: 'softmax', kernelInitializer: 'zeros', biasInitializer: tf.initializers.constant({ value: 0 }) })] });
      // every sample's true class 0 sits 40 logits below class 1
      m.layers[0]?.setWeights([tf.zeros([2, 2]), tf.tensor1d([-20, 20])]);
      return m;
    };
    const x = tf.ones([4, 2]);
    const y = tf.oneHot(tf.zeros([4], 'int32'), 2).toFloat();
    const ours = make();
    ours.compile({ optimizer: tf.train.sgd(0.5), loss: softmaxCrossEntropy });
    const theirs = make();
    theirs.compile({ optimizer: tf.train.sgd(0.5), loss: 'categoricalCrossentropy' });
    for (let i = 0; i < 30; i++) {
      await ours.trainOnBatch(x, y);
      await theirs.trainOnBatch(x, y);
    }
    const pOurs = firstProbability(ours);
    const pTheirs = firstProbability(theirs);
    assert.ok(pOurs > 0.5, `our loss left p(true) at ${pOurs}`);
    assert.ok(pTheirs < 1e-7, `tfjs's loss moved p(true) to ${pTheirs}`);
  });
});
