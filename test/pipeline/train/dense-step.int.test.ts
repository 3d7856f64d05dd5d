/**
 * The lean step of a dense head against tfjs-layers' trainOnBatch: the same losses, accuracies and
 * weights after several steps with dropout (float32 rounding apart), with a fraction of the ops;
 * models that are not a dense chain train with trainOnBatch.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { buildClassifier, headLayers } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { setDropoutStep } from '../../../src/pipeline/model/dropout.js';
import { FlatAdam } from '../../../src/pipeline/train/adam.js';
import { batchStep, trainOnBatchStep } from '../../../src/pipeline/train/batch-step.js';
import { denseChain, denseStep } from '../../../src/pipeline/train/dense-step.js';
import { softmaxCrossEntropy } from '../../../src/pipeline/train/softmax-loss.js';
import { tinyBackbone } from '../../support/tiny.js';

const CLASSES = 5;

/** A head on [2, 2, 6] features (the shape of cached activations), compiled with its own FlatAdam. */
function head(kind: 'flatten' | 'pooled' | 'linear', seed = 7): tf.LayersModel {
  const input = tf.input({ shape: [2, 2, 6] });
  let x: tf.SymbolicTensor = input;
  for (const layer of headLayers({ numClasses: CLASSES, denseUnits: 16, dropout: 0.5, seed, head: kind })) {
    const y = layer.apply(x);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error('symbolic output expected');
    x = y;
  }
  const model = tf.model({ inputs: input, outputs: x });
  model.compile({ optimizer: new FlatAdam(0.05), loss: softmaxCrossEntropy, metrics: ['accuracy'] });
  return model;
}

const features = (step: number) => tf.tidy(() => tf.mul(tf.randomNormal([12, 2, 2, 6], 0, 1, 'float32', 100 + step), 2));
const labelsOf = (step: number) => Int32Array.from({ length: 12 }, (_, i) => (i * 7 + step) % CLASSES);

async function maxAbsDiff(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): Promise<number> {
  let m = 0;
  for (const [i, t] of a.entries()) {
    const other = b[i];
    assert.ok(other !== undefined);
    m = Math.max(m, ...(await tf.abs(tf.sub(t, other)).data()));
  }
  return m;
}

describe('the dense head step', () => {
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
  });

  for (const kind of ['flatten', 'pooled', 'linear'] as const) {
    it(`${kind} head: the same losses, accuracies and weights as trainOnBatch after 8 steps`, async () => {
      const [reference, lean] = [head(kind), head(kind)];
      const viaLayers = trainOnBatchStep(reference, CLASSES);
      const viaDense = denseStep(lean, CLASSES);
      assert.ok(viaDense !== undefined, "the head is a dense chain");
      for (let step = 0; step < 8; step++) {
        setDropoutStep(reference, step);
        setDropoutStep(lean, step);
        const x = features(step);
        const a = await viaLayers(x, labelsOf(step));
        const b = await viaDense(x, labelsOf(step));
        x.dispose();
        assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.max(1, a.loss), `step ${step} loss ${b.loss} vs ${a.loss}`);
        assert.ok(Math.abs(b.accuracy - a.accuracy) < 1e-6, `step ${step} accuracy ${b.accuracy} vs ${a.accuracy}`);
      }
      const diff = await maxAbsDiff(lean.trainableWeights.map((w) => w.read()), reference.trainableWeights.map((w) => w.read()));
      assert.ok(diff < 1e-5, `weights differ by ${diff}`);
      // and training moved them: the comparison is not between two untouched models
      const fresh = head(kind);
      const moved = await maxAbsDiff(lean.trainableWeights.map((w) => w.read()), fresh.trainableWeights.map((w) => w.read()));
      assert.ok(moved > 0.05, `the weights moved ${moved}`);
      for (const m of [reference, lean, fresh]) m.optimizer.dispose();
    });
  }

  it('dispatches under 40% of the ops of trainOnBatch and leaks no tensors', async () => {
    const model = head('flatten');
    const x = features(0);
    const labels = labelsOf(0);
    const lean = denseStep(model, CLASSES);
    assert.ok(lean !== undefined);
    const layers = trainOnBatchStep(model, CLASSES);
    await lean(x, labels);
    await layers(x, labels); // both optimizers' slots exist now
    const count = async (f: () => Promise<unknown>) => (await tf.profile(async () => { await f(); return []; })).kernels.length;
    const leanOps = await count(() => lean(x, labels));
    const layerOps = await count(() => layers(x, labels));
    assert.ok(leanOps * 2.5 < layerOps, `dense step ${leanOps} ops, trainOnBatch ${layerOps}`);
    const tensors = tf.memory().numTensors;
    await lean(x, labels);
    assert.equal(tf.memory().numTensors, tensors, 'a step leaves no tensor behind');
    x.dispose();
  });

  it('a model that is not a dense chain trains with trainOnBatch', () => {
    // conv layers before the head (trainable, or frozen: the step has no conv link either way)
    const { spec } = tinyBackbone();
    const withConv = buildClassifier(spec, 8, { numClasses: CLASSES, denseUnits: 8, dropout: 0, seed: 1 });
    withConv.compile({ optimizer: new FlatAdam(0.01), loss: 'categoricalCrossentropy' });
    assert.equal(batchStep(withConv, CLASSES).kind, 'trainOnBatch');
    applyFreeze(withConv, spec, planFreeze(spec, 0));
    assert.equal(denseChain(withConv), undefined);
    const plain = head('flatten');
    assert.equal(batchStep(plain, CLASSES).kind, 'dense');
    // a layer loss (L2-SP's pull is one) joins the training loss: the tape is needed
    const pulled = head('flatten');
    pulled.getLayer('fc1').addLoss(() => tf.scalar(0));
    assert.equal(denseChain(pulled), undefined);
    // a regularizer on a dense layer
    const regularized = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 6] }), tf.layers.dense({ units: CLASSES, activation: 'softmax', kernelRegularizer: tf.regularizers.l2() })] });
    assert.equal(denseChain(regularized), undefined);
    // tfjs's own Dropout draws other masks than StepDropout
    const tfjsDropout = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 6] }), tf.layers.dropout({ rate: 0.5 }), tf.layers.dense({ units: CLASSES, activation: 'softmax' })] });
    assert.equal(denseChain(tfjsDropout), undefined);
    // a frozen dense layer, and a head that does not end in softmax
    const frozen = head('flatten');
    frozen.getLayer('fc1').trainable = false;
    assert.equal(denseChain(frozen), undefined);
    const logits = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 6] }), tf.layers.dense({ units: CLASSES })] });
    assert.equal(denseChain(logits), undefined);
    // a Dense layer on a rank-4 input (Keras maps its last axis only)
    const rank4 = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2, 2, 6], units: CLASSES, activation: 'softmax' })] });
    assert.equal(denseChain(rank4), undefined);
    // while Flatten → Dense(softmax) alone is one
    assert.notEqual(denseChain(tf.sequential({ layers: [tf.layers.flatten({ inputShape: [2, 2, 6] }), tf.layers.dense({ units: CLASSES, activation: 'softmax' })] })), undefined);
  });
});
