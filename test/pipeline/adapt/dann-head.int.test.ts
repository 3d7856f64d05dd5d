import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { buildDomainDiscriminator, dannDomainLoss, domainAccuracy } from '../../../src/pipeline/adapt/dann-head.js';
import { minimizeStep, trainableVariables } from '../../../src/pipeline/adapt/step.js';

const weights = (m: tf.LayersModel): number[][] => m.getWeights().map((w) => Array.from(w.dataSync()));
const scalar = (t: tf.Tensor): number => {
  const v = t.dataSync()[0] ?? Number.NaN;
  t.dispose();
  return v;
};

describe('DANN domain head', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('builds Dense 64 ReLU → Dense 1 (the logit), seeded', () => {
    const a = buildDomainDiscriminator(10, { seed: 1 });
    const b = buildDomainDiscriminator(10, { seed: 1 });
    const c = buildDomainDiscriminator(10, { seed: 2 });
    assert.deepEqual(a.outputs[0]?.shape, [null, 1]);
    assert.deepEqual(a.layers.slice(1).map((l) => [l.getConfig()['units'], l.getConfig()['activation']]), [[64, 'relu'], [1, 'linear']]);
    assert.deepEqual(weights(a), weights(b));
    assert.notDeepEqual(weights(a), weights(c));
    assert.equal(buildDomainDiscriminator(4, { seed: 1, hiddenUnits: 8 }).layers[1]?.getConfig()['units'], 8);
    assert.throws(() => buildDomainDiscriminator(0, { seed: 1 }), RangeError);
    [a, b, c].forEach((m) => m.dispose());
  });

  it('the domain loss is the BCE of P(target) = σ(logit) with labels 0 (source) / 1 (target), whatever λ', () => {
    const disc = buildDomainDiscriminator(3, { seed: 4 });
    const s = tf.tensor2d([[1, 0, 2], [0, 1, 1]]);
    const t = tf.tensor2d([[3, 3, 0], [2, 1, 0], [1, 1, 1]]);
    const p = tf.tidy(() => {
      const out = disc.predict(tf.concat([s, t]));
      if (!(out instanceof tf.Tensor)) throw new Error('one output expected');
      return Array.from(out.dataSync()).map((z) => 1 / (1 + Math.exp(-z)));
    });
    const expected = -p.reduce((sum, v, i) => sum + (i < 2 ? Math.log(1 - v) : Math.log(v)), 0) / 5;
    for (const lambda of [0, 1, -1]) {
      const got = scalar(dannDomainLoss(disc, s, t, lambda));
      assert.ok(Math.abs(got - expected) < 1e-5, `λ=${lambda}: ${got} vs ${expected}`);
    }
    tf.tidy(() => assert.throws(() => dannDomainLoss(disc, s, tf.zeros([2, 4]), 1), /differ in size: 3 vs 4/));
    tf.dispose([s, t]);
    disc.dispose();
  });

  it('a saturated discriminator still sends gradient to the features (σ(z) − y), where a clipped probability sends none', () => {
    const disc = buildDomainDiscriminator(2, { seed: 6, hiddenUnits: 4 });
    // a huge output bias: every row "surely target" (logit ≈ 60, σ = 1 in float32), so the source rows are confidently wrong
    const [kernel, bias] = disc.layers[2]?.getWeights() ?? [];
    if (kernel === undefined || bias === undefined) throw new Error('the output layer has a kernel and a bias');
    disc.layers[2]?.setWeights([kernel, tf.fill([1], 60)]);
    const s = tf.tensor2d([[1, 2], [2, 1]]);
    const t = tf.tensor2d([[1, 1]]);
    const grads = tf.grad((x: tf.Tensor) => dannDomainLoss(disc, x, t, 1))(s);
    const size = scalar(tf.max(tf.abs(grads)));
    assert.ok(size > 1e-3, `gradient at the source features ${size}`);
    // the same loss from the clipped probability (what the head did before) passes nothing back
    const clipped = tf.grad((x: tf.Tensor) => tf.tidy(() => {
      const out = disc.apply(x, { training: true });
      if (!(out instanceof tf.Tensor)) throw new Error('one output expected');
      const q = tf.clipByValue(tf.sigmoid(out), 1e-7, 1 - 1e-7);
      return tf.neg(tf.mean(tf.log(tf.sub(1, q))));
    }))(s);
    assert.equal(scalar(tf.max(tf.abs(clipped))), 0);
    tf.dispose([s, t, grads, clipped]);
    disc.dispose();
  });

  it('a discriminator trained on fixed, separable features reaches high domain accuracy; flat conv maps work', async () => {
    const s = tf.randomNormal([64, 2, 2, 1], 0, 1, 'float32', 1);
    const t = tf.tidy(() => tf.add(tf.randomNormal([64, 2, 2, 1], 0, 1, 'float32', 2), 2));
    const disc = buildDomainDiscriminator(4, { seed: 5, hiddenUnits: 16 });
    const optimizer = tf.train.adam(0.02);
    const vars = trainableVariables(disc);
    const before = scalar(domainAccuracy(disc, s, t));
    let loss = Number.NaN;
    for (let i = 0; i < 100; i++) loss = await minimizeStep(optimizer, () => dannDomainLoss(disc, s, t, 1), vars);
    const after = scalar(domainAccuracy(disc, s, t));
    assert.ok(after > 0.95 && after >= before, `accuracy ${before} → ${after}`);
    assert.ok(loss < 0.2, `loss ${loss}`);
    tf.dispose([s, t]);
    optimizer.dispose();
    disc.dispose();
  });
});
