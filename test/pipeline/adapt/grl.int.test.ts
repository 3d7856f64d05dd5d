import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { GradientReversal, dannLambda, gradientReversal } from '../../../src/pipeline/adapt/grl.js';
import { buildDomainDiscriminator, dannDomainLoss, domainAccuracy } from '../../../src/pipeline/adapt/dann-head.js';
import { minimizeStep, trainableVariables } from '../../../src/pipeline/adapt/step.js';

const values = (t: tf.Tensor): number[] => Array.from(t.dataSync());
const close = (a: readonly number[], b: readonly number[], tol = 1e-6): void => {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - (b[i] ?? Number.NaN)) <= tol, `index ${i}: ${v} vs ${b[i]}`));
};

/** Input [1, 1] → dense(1, kernel ones, trainable) → [GRL] → dense(1, kernel ones, frozen); MSE to 0. */
function tinyModel(grl: GradientReversal | undefined) {
  const input = tf.input({ shape: [2] });
  const first = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones' });
  const h = first.apply(input);
  if (!(h instanceof tf.SymbolicTensor)) throw new Error('not symbolic');
  const g = grl === undefined ? h : grl.apply(h);
  if (!(g instanceof tf.SymbolicTensor)) throw new Error('not symbolic');
  const out = tf.layers.dense({ units: 1, useBias: false, kernelInitializer: 'ones', trainable: false }).apply(g);
  if (!(out instanceof tf.SymbolicTensor)) throw new Error('not symbolic');
  const model = tf.model({ inputs: input, outputs: out });
  model.compile({ optimizer: tf.train.sgd(0.1), loss: 'meanSquaredError' });
  return { model, first };
}

/** |mean_s − mean_t| / pooled std of 1-D features: source rows first, `n` of each. */
function separation(features: tf.Tensor, n: number): number {
  return tf.tidy(() => {
    const s = tf.moments(tf.slice(features, [0, 0], [n, 1]));
    const t = tf.moments(tf.slice(features, [n, 0], [n, 1]));
    const gap = Math.abs((s.mean.dataSync()[0] ?? 0) - (t.mean.dataSync()[0] ?? 0));
    return gap / Math.sqrt(((s.variance.dataSync()[0] ?? 0) + (t.variance.dataSync()[0] ?? 0)) / 2);
  });
}

describe('gradient reversal', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('is the identity on the forward pass (values, shape, dtype)', () => {
    const x = tf.tensor2d([[1, -2.5], [3, 0]]);
    const y = gradientReversal(x, 0.7);
    assert.deepEqual(y.shape, [2, 2]);
    assert.equal(y.dtype, 'float32');
    assert.deepEqual(values(y), values(x));
    assert.notEqual(y.id, x.id, 'a new tensor, so disposing one leaves the other');
    tf.dispose([x, y]);
  });

  it('returns −λ·dy as the gradient, for several λ', () => {
    const x = tf.tensor1d([1, 2, 3]);
    const dyWeights = tf.tensor1d([1, 10, 100]);
    for (const lambda of [1, 0.5, 0, -2]) {
      // d/dx Σ w·GRL(x) = −λ·w; and through a square, −λ·2x·w.
      close(values(tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(gradientReversal(v, lambda), dyWeights)))(x))), [1, 10, 100].map((w) => -lambda * w || 0));
      close(values(tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.square(gradientReversal(v, lambda)), dyWeights)))(x))), [1, 2, 3].map((v, i) => -lambda * 2 * v * [1, 10, 100][i]! || 0));
    }
    tf.dispose([x, dyWeights]);
  });

  it('rejects a non-finite λ', () => {
    const x = tf.scalar(1);
    assert.throws(() => gradientReversal(x, Number.NaN), RangeError);
    assert.throws(() => new GradientReversal({ lambda: Number.POSITIVE_INFINITY }), RangeError);
    x.dispose();
  });

  it('dannLambda follows 2/(1+exp(−10p))−1 from 0 to ≈1', () => {
    assert.equal(dannLambda(0), 0);
    close([dannLambda(0.5)], [2 / (1 + Math.exp(-5)) - 1], 1e-12);
    assert.ok(dannLambda(1) > 0.9999 && dannLambda(1) < 1);
    const ramp = [0, 0.1, 0.2, 0.5, 0.8, 1].map((p) => dannLambda(p));
    ramp.slice(1).forEach((v, i) => assert.ok(v > (ramp[i] ?? 1), 'increasing'));
    close([dannLambda(0.5, 2)], [2 / (1 + Math.exp(-1)) - 1], 1e-12);
    for (const bad of [-0.01, 1.01, Number.NaN]) assert.throws(() => dannLambda(bad), RangeError);
    assert.throws(() => dannLambda(0.5, 0), RangeError);
  });
});

describe('GradientReversal layer in a tf.LayersModel', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));
  const x = () => tf.tensor2d([[1, 1]]);
  const y = () => tf.tensor2d([[0]]);

  // Loss (w1 + w2)² at w = [1, 1]: gradient 4 per weight, so SGD(0.1) gives 1 − 0.4 = 0.6; behind a
  // GRL with λ = 0.5 the gradient is −2, giving 1 + 0.2 = 1.2.
  it('trainOnBatch applies the reversed, scaled gradient below the layer', async () => {
    for (const [grl, expected] of [[undefined, 0.6], [new GradientReversal({ lambda: 0.5 }), 1.2]] as const) {
      const { model, first } = tinyModel(grl);
      const [xs, ys] = [x(), y()];
      await model.trainOnBatch(xs, ys);
      close(values(first.getWeights()[0] ?? tf.scalar(Number.NaN)), [expected, expected]);
      tf.dispose([xs, ys]);
      model.dispose();
    }
  });

  it('model.fit and optimizer.minimize over trainableWeights do too; lambda can change between steps', async () => {
    const grl = new GradientReversal({ lambda: 0.5 });
    const { model, first } = tinyModel(grl);
    const [xs, ys] = [x(), y()];
    await model.fit(xs, ys, { epochs: 1, batchSize: 1, verbose: 0 });
    close(values(first.getWeights()[0] ?? tf.scalar(0)), [1.2, 1.2]);
    // Now (1.2 + 1.2)·2 = 4.8 per weight, reversed with λ = 1: w = 1.2 + 0.48.
    grl.lambda = 1;
    const vars = trainableVariables(model);
    assert.equal(vars.length, 1, 'the frozen last layer is not handed to the optimizer');
    const loss = await minimizeStep(tf.train.sgd(0.1), () => tf.tidy(() => {
      const out = model.apply(xs, { training: true });
      if (!(out instanceof tf.Tensor)) throw new Error('one output expected');
      return tf.mean<tf.Scalar>(tf.square(out));
    }), vars);
    close([loss], [5.76], 1e-5);
    close(values(first.getWeights()[0] ?? tf.scalar(0)), [1.68, 1.68], 1e-5);
    tf.dispose([xs, ys]);
    model.dispose();
  });

  it('is the identity in predict and serializes its λ', () => {
    const grl = new GradientReversal({ lambda: 0.25, name: 'grl' });
    const { model } = tinyModel(grl);
    const xs = tf.tensor2d([[1, 2], [3, 4]]);
    const out = model.predict(xs);
    if (!(out instanceof tf.Tensor)) throw new Error('one output expected');
    close(values(out), [3, 7]);
    assert.equal(grl.getConfig()['lambda'], 0.25);
    const restored = tf.layers.Layer.fromConfig(GradientReversal, grl.getConfig());
    assert.ok(restored instanceof GradientReversal);
    assert.equal(restored.lambda, 0.25);
    assert.match(JSON.stringify(model.toJSON(null, false)), /"class_name":"GradientReversal"/);
    tf.dispose([xs, out]);
    model.dispose();
  });
});

describe('GRL with a domain discriminator, end to end', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  // Two Gaussian domains 3σ apart along x; a linear extractor to one feature (kernel [1, 1] at the
  // start: separation 3/√2 ≈ 2.1). Through the GRL the extractor learns to hide the shift; with the
  // gradient passed unreversed (λ = −1) it learns to show it (separation → 3).
  async function train(lambda: number) {
    const n = 128;
    const xs = tf.randomNormal<tf.Rank.R2>([n, 2], 0, 1, 'float32', 1);
    const xt = tf.tidy(() => tf.add<tf.Tensor2D>(tf.randomNormal([n, 2], 0, 1, 'float32', 2), tf.tensor1d([3, 0])));
    const all = tf.concat([xs, xt]);
    const extractor = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1, kernelInitializer: tf.initializers.constant({ value: 1 }) })] });
    const discriminator = buildDomainDiscriminator(1, { seed: 3, hiddenUnits: 16 });
    const vars = trainableVariables(extractor, discriminator);
    const optimizer = tf.train.adam(0.01);
    const features = () => tf.tidy(() => tf.concat([extractor.predict(xs), extractor.predict(xt)].flat()));
    const before = features();
    const separationBefore = separation(before, n);
    const step = () => minimizeStep(optimizer, () => tf.tidy(() => {
      const fs = extractor.apply(xs, { training: true });
      const ft = extractor.apply(xt, { training: true });
      if (!(fs instanceof tf.Tensor) || !(ft instanceof tf.Tensor)) throw new Error('one output expected');
      return dannDomainLoss(discriminator, fs, ft, lambda);
    }), vars);
    await step(); // creates Adam's slots
    const tensors = tf.memory().numTensors;
    for (let i = 1; i < 300; i++) await step();
    assert.equal(tf.memory().numTensors, tensors, 'no tensor leaks per step');
    const after = features();
    const separationAfter = separation(after, n);
    const accuracy = tf.tidy(() => domainAccuracy(discriminator, tf.slice(after, [0, 0], [n, 1]), tf.slice(after, [n, 0], [n, 1])).dataSync()[0] ?? Number.NaN);
    tf.dispose([xs, xt, all, before, after]);
    optimizer.dispose();
    extractor.dispose();
    discriminator.dispose();
    return { separationBefore, separationAfter, accuracy };
  }

  it('makes features less separable through the GRL, more without it', async () => {
    const reversed = await train(1);
    const plain = await train(-1);
    assert.ok(reversed.separationAfter < 0.3 * reversed.separationBefore, `GRL: ${reversed.separationBefore} → ${reversed.separationAfter}`);
    assert.ok(plain.separationAfter > plain.separationBefore, `no GRL: ${plain.separationBefore} → ${plain.separationAfter}`);
    assert.ok(reversed.accuracy < 0.65, `discriminator accuracy with GRL ${reversed.accuracy}`);
    assert.ok(plain.accuracy > 0.85, `discriminator accuracy without GRL ${plain.accuracy}`);
  });

  it("gives the extractor the opposite of the domain loss's gradient, and the discriminator the same one", () => {
    const xs = tf.tensor2d([[0, 0], [1, 0], [0, 1]]);
    const xt = tf.tensor2d([[3, 1], [4, 0], [3, -1]]);
    const extractor = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 5 }) })] });
    const discriminator = buildDomainDiscriminator(3, { seed: 7 });
    const vars = trainableVariables(extractor, discriminator);
    const gradsFor = (lambda: number): number[][] => tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const fs = extractor.apply(xs);
        const ft = extractor.apply(xt);
        if (!(fs instanceof tf.Tensor) || !(ft instanceof tf.Tensor)) throw new Error('one output expected');
        return dannDomainLoss(discriminator, fs, ft, lambda);
      }, vars);
      return vars.map((v) => values(grads[v.name] ?? tf.scalar(Number.NaN)));
    });
    const reversed = gradsFor(0.5);
    const plain = gradsFor(-1); // λ = −1 passes the gradient unchanged
    const extractorVars = extractor.trainableWeights.length;
    reversed.forEach((g, i) => {
      const p = plain[i] ?? [];
      if (i < extractorVars) close(g, p.map((v) => -0.5 * v || 0), 1e-6);
      else close(g, p, 1e-6);
    });
    assert.ok((plain[0] ?? []).some((v) => Math.abs(v) > 1e-4), 'the extractor does get a gradient');
    tf.dispose([xs, xt]);
    extractor.dispose();
    discriminator.dispose();
  });
});
