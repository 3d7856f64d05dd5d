import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../../src/errors.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { minimizeStep, trainableVariables } from '../../../src/pipeline/adapt/step.js';

describe('manual optimizer step', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('trainableVariables skips frozen layers and counts a shared layer once', () => {
    const shared = tf.layers.dense({ units: 2, inputShape: [2] });
    const frozen = tf.layers.dense({ units: 2, trainable: false });
    const a = tf.sequential({ layers: [shared, frozen] });
    const b = tf.sequential({ layers: [shared, tf.layers.dense({ units: 1 })] });
    const vars = trainableVariables(a, b);
    assert.equal(vars.length, 4, 'shared kernel+bias, b head kernel+bias');
    assert.ok(vars.every((v) => v instanceof tf.Variable && v.trainable));
    assert.equal(new Set(vars.map((v) => v.id)).size, 4);
    a.dispose(); // disposes the shared layer too
    b.layers[1]?.dispose();
  });

  it('updates only the variables it is given and returns the loss', async () => {
    const w = tf.variable(tf.tensor1d([1, 2]));
    const other = tf.variable(tf.tensor1d([5]));
    const loss = await minimizeStep(tf.train.sgd(0.5), () => tf.tidy(() => tf.add(tf.sum(tf.square(w)), tf.sum(tf.square(other)))), [w]);
    assert.equal(loss, 30);
    assert.deepEqual(Array.from(w.dataSync()), [0, 0]);
    assert.deepEqual(Array.from(other.dataSync()), [5]);
    tf.dispose([w, other]);
  });

  it('throws TrainingError on a non-finite loss and RangeError without variables', async () => {
    const w = tf.variable(tf.scalar(0));
    const optimizer = tf.train.sgd(0.1);
    assert.equal(await minimizeStep(optimizer, () => tf.tidy(() => tf.mul<tf.Scalar>(w, 1)), [w]), 0); // the optimizer makes its own tensors once
    const before = tf.memory().numTensors;
    await assert.rejects(minimizeStep(optimizer, () => tf.tidy(() => tf.div<tf.Scalar>(w, tf.scalar(0))), [w]), TrainingError);
    assert.equal(tf.memory().numTensors, before, 'the cost is disposed on failure too');
    await assert.rejects(minimizeStep(tf.train.sgd(0.1), () => tf.scalar(1), []), RangeError);
    w.dispose();
  });
});
