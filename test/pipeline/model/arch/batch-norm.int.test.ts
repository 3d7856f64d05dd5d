/**
 * BatchNorm on the real graph backbones, trained through the classifier as runs train it
 * (`trainOnBatch`, which calls every layer with training: true): with every backbone layer frozen,
 * no BN moves its statistics and the training-mode predictions equal predict's (Keras semantics:
 * frozen = inference mode; tfjs's own BN would normalise with batch statistics and update them).
 * With the last block trainable, that block's BNs update and every earlier one stays bit-identical.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { BACKBONES, type BackboneName } from '../../../../src/pipeline/model/backbones.js';
import { backboneLayers, buildClassifier } from '../../../../src/pipeline/model/build.js';
import { preprocess } from '../../../../src/pipeline/model/input.js';
import { FreezableBatchNorm } from '../../../../src/pipeline/model/layers/batch-norm.js';

const SIZE = 64;
const BATCH = 4;
const CLASSES = 3;

/** Every backbone weight (BN moving statistics included), copied out. */
function snapshot(layers: readonly tf.layers.Layer[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const layer of layers) {
    for (const w of layer.weights) out.set(w.originalName, Float32Array.from(w.read().dataSync()));
  }
  return out;
}

function same(a: Float32Array | undefined, b: Float32Array | undefined): boolean {
  return a !== undefined && b !== undefined && a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/** One trainOnBatch step; returns the predictions the training pass computed (read through the loss). */
async function trainStep(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor): Promise<Float32Array> {
  let seen = new Float32Array(0);
  model.compile({
    optimizer: tf.train.sgd(0.05),
    loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => {
      seen = Float32Array.from(yPred.dataSync());
      return tf.mean(tf.metrics.categoricalCrossentropy(yTrue, yPred));
    },
  });
  await model.trainOnBatch(x, y);
  return seen;
}

/**
 * Sets each BN's moving statistics, in network order, to the moments of its input on `x`: freshly
 * initialised (mean 0, variance 1) the random backbone's signal fades to ~1e-12 by the last block,
 * where any normalisation gives the same zeros and the test could not tell the modes apart. `x` is
 * another batch than the one trained on, whose statistics then differ from the moving ones.
 */
function calibrate(model: tf.LayersModel, bns: readonly tf.layers.Layer[], x: tf.Tensor): void {
  for (const bn of bns) {
    const input = bn.inboundNodes[0]?.inputTensors[0];
    assert.ok(input !== undefined);
    const probe = tf.model({ inputs: model.inputs, outputs: input });
    tf.tidy(() => {
      const a = probe.predict(x);
      if (Array.isArray(a)) throw new Error('one output expected');
      const { mean, variance } = tf.moments(a, [0, 1, 2]);
      const [gamma, beta] = bn.getWeights();
      assert.ok(gamma !== undefined && beta !== undefined);
      bn.setWeights([gamma, beta, mean, tf.maximum(variance, 1e-2)]);
    });
  }
}

function predictValues(model: tf.LayersModel, x: tf.Tensor): Float32Array {
  return tf.tidy(() => {
    const out = model.predict(x);
    if (Array.isArray(out)) throw new Error('one output expected');
    return Float32Array.from(out.dataSync());
  });
}

const GRAPH: readonly BackboneName[] = ['mobilenet_v2', 'resnet50', 'efficientnet_b0', 'efficientnet_lite0'];

describe('BatchNorm in a frozen / partly trainable graph backbone (trainOnBatch)', () => {
  for (const name of GRAPH) {
    it(name, async () => {
      const spec = BACKBONES[name];
      const model = buildClassifier(spec, SIZE, { numClasses: CLASSES, denseUnits: 8, dropout: 0, seed: 5 });
      const layers = backboneLayers(model, spec);
      const backbone = layers.map((l) => l.layer);
      const bnBlock = new Map(layers.filter((l) => l.layer instanceof FreezableBatchNorm).map((l) => [l.layer.name, l.block]));
      const last = spec.blocks.at(-1)?.name;
      assert.ok([...bnBlock.values()].includes(last ?? ''), `the last block (${last}) has BatchNorms`);
      const images = (seed: number) => tf.tidy(() => preprocess(tf.randomUniform([BATCH, SIZE, SIZE, 3], 0, 255, 'float32', seed), spec.preprocessing));
      const x = images(3);
      const calibration = images(4);
      const y = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), CLASSES);
      try {
        calibrate(model, layers.filter((l) => l.layer instanceof FreezableBatchNorm).map((l) => l.layer), calibration);
        // 1. Everything in the backbone frozen.
        for (const layer of backbone) layer.trainable = false;
        const before = snapshot(backbone);
        const predicted = predictValues(model, x);
        const trainingPass = await trainStep(model, x, y);
        assert.ok(same(trainingPass, predicted), 'a frozen backbone computes in training what it computes in predict');
        const frozen = snapshot(backbone);
        const moved = [...before.keys()].filter((k) => !same(before.get(k), frozen.get(k)));
        assert.deepEqual(moved, [], 'no backbone weight (BN statistics included) changed');

        // 2. The last block trainable: its BNs train (batch statistics, moving averages updated).
        for (const l of layers) l.layer.trainable = l.block === last;
        const again = predictValues(model, x);
        const partly = await trainStep(model, x, y);
        assert.ok(!same(partly, again), 'the trainable BNs normalise with batch statistics in training');
        const after = snapshot(backbone);
        for (const [bn, block] of bnBlock) {
          const changed = ['moving_mean', 'moving_variance'].map((w) => !same(frozen.get(`${bn}/${w}`), after.get(`${bn}/${w}`)));
          assert.deepEqual(changed, [block === last, block === last], `${bn} (block ${block}): moving statistics ${block === last ? 'updated' : 'untouched'}`);
        }
      } finally {
        tf.dispose([x, y, calibration]);
        model.dispose();
      }
    });
  }
});
