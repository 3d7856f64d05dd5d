/**
 * The adaptation loop on tiny synthetic data, every method: per-epoch metrics of the method, frozen
 * layers bit-identical, the trainable ones moved, and no tensor left behind.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { applyShift } from '../../../src/pipeline/adapt/shift.js';
import { trainAdaptation } from '../../../src/pipeline/adapt/trainer.js';
import { METHOD_METRICS } from '../../../src/pipeline/adapt/epoch-metrics.js';
import type { AdaptationMethod } from '../../../src/pipeline/adapt/adapt-params.js';
import type { StepSources } from '../../../src/pipeline/adapt/batches.js';
import { syntheticImageSet } from '../../support/make-datasets.js';

const spec = getBackbone('small-cnn');
const input = { inputSize: 16, preprocessing: spec.preprocessing };
const set = (count: number, seed: number) => syntheticImageSet({ count, height: 16, width: 16, channels: 1, numClasses: 4, seed });

function sources(method: AdaptationMethod): StepSources {
  const source = imageSource(set(40, 1), input);
  const pool = applyShift(set(48, 2), { kind: 'noise', seed: 1, std: 0.1 });
  switch (method) {
    case 'none':
      return { source };
    case 'dann':
    case 'coral':
      return { source, unlabelled: imageSource(pool, input) };
    case 'pseudo_label':
      return { source, targetLabelled: imageSource(set(8, 3), input), unlabelled: imageSource(pool, input, ['flip', 'crop']), weak: imageSource(pool, input, ['flip']) };
  }
}

describe('adaptation training loop', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  for (const method of ['none', 'dann', 'coral', 'pseudo_label'] as const) {
    it(`${method}: its metrics every epoch, frozen layers untouched, no tensor leaked`, async () => {
      const before = tf.memory().numTensors;
      const model = buildClassifier(spec, 16, { numClasses: 4, denseUnits: 16, dropout: 0.5, seed: 1 });
      applyFreeze(model, spec, planFreeze(spec, 1));
      const frozen = Array.from(model.getLayer('block1_conv1').getWeights()[0]?.dataSync() ?? []);
      const trained = Array.from(model.getLayer('block1_conv2').getWeights()[0]?.dataSync() ?? []);
      const result = await trainAdaptation(model, {
        method,
        sources: sources(method),
        epochExamples: 48,
        validation: imageSource(set(12, 4), input),
        targetTestSample: imageSource(applyShift(set(12, 5), { kind: 'noise', seed: 2, std: 0.1 }), input),
        entropyImages: imageSource(set(12, 6), input),
        numClasses: 4,
        batchSize: 8,
        maxEpochs: 2,
        learningRate: 0.01,
        weight: 1,
        threshold: 0.5,
        patience: 5,
        selection: 'source_val_loss',
        seed: 3,
        now: Date.now,
      });
      assert.equal(result.epochs.length, 2);
      for (const m of result.epochs) {
        const values: Record<string, unknown> = { ...m };
        for (const key of ['loss', 'class_loss', 'val_loss', 'target_entropy', 'target_test_accuracy', ...METHOD_METRICS[method]]) {
          assert.equal(typeof values[key], 'number', `${method} epoch ${m.epoch}: ${key}`);
          if (key !== 'pseudo_label_accuracy') assert.ok(Number.isFinite(values[key]), `${method}: ${key} = ${String(values[key])}`);
        }
        for (const other of Object.values(METHOD_METRICS).flat().filter((k) => !METHOD_METRICS[method].includes(k))) assert.ok(!(other in values), `${method} does not log ${other}`);
      }
      assert.ok([0, 1].includes(result.selectedEpoch));
      assert.deepEqual(Array.from(model.getLayer('block1_conv1').getWeights()[0]?.dataSync() ?? []), frozen, 'frozen conv layer bit-identical');
      assert.notDeepEqual(Array.from(model.getLayer('block1_conv2').getWeights()[0]?.dataSync() ?? []), trained, 'trainable conv layer moved');
      model.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    });
  }
});
