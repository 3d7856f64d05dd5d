import { before, describe, it } from 'node:test';
import { stackSpec } from '../../../src/pipeline/model/arch/vgg.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import type { BackboneSpec } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { fit, type EpochMetrics } from '../../../src/pipeline/train/fit.js';
import { imageSource } from '../../../src/pipeline/train/source.js';

const TINY: BackboneSpec = stackSpec({
  name: 'tiny',
  description: 'test backbone',
  filters: [[4, 4], [8]],
  defaultInputSize: 8,
  minInputSize: 4,
  preprocessing: PREPROCESSING.unit,
  weights: {},
  flops: { inputSize: 8, gflops: 0 },
});

/** Two classes that differ by brightness, so a model can learn them. */
function images(count: number, seed: number): ImageSet {
  const size = 8 * 8 * 3;
  const data = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    labels[i] = i % 2;
    for (let p = 0; p < size; p++) {
      s = (s * 1103515245 + 12345) >>> 0;
      data[i * size + p] = (labels[i] === 1 ? 150 : 30) + (s % 80);
    }
  }
  return { images: data, labels, count, height: 8, width: 8, channels: 3 };
}

function build(retrained: number) {
  const model = buildClassifier(TINY, 8, { numClasses: 2, denseUnits: 8, dropout: 0.2, seed: 1 });
  applyFreeze(model, TINY, planFreeze(TINY, retrained));
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

const snapshot = (model: tf.LayersModel, name: string) => model.getLayer(name).getWeights().map((w) => Float32Array.from(w.dataSync()));

describe('fit on the native backend', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));
  const input = { inputSize: 8, preprocessing: PREPROCESSING.unit };

  it('keeps frozen conv kernels bit-identical and changes the trainable ones', async () => {
    const model = build(1);
    const frozenBefore = [snapshot(model, 'block1_conv1'), snapshot(model, 'block1_conv2')];
    const trainableBefore = snapshot(model, 'block2_conv1');
    await fit(model, {
      train: imageSource(images(64, 1), input),
      validation: imageSource(images(16, 2), input),
      numClasses: 2, batchSize: 16, maxEpochs: 3, patience: undefined, seed: 3, now: Date.now,
    });
    assert.deepEqual([snapshot(model, 'block1_conv1'), snapshot(model, 'block1_conv2')], frozenBefore);
    const after = snapshot(model, 'block2_conv1');
    assert.notDeepEqual(after, trainableBefore);
    assert.deepEqual(model.trainableWeights.map((w) => w.name.split('/')[0]), ['block2_conv1', 'block2_conv1', 'fc1', 'fc1', 'predictions', 'predictions']);
    model.dispose();
  });

  it('learns, reports every epoch and leaks no tensors across epochs', async () => {
    const model = build(3);
    const counts: number[] = [];
    const seen: EpochMetrics[] = [];
    const result = await fit(model, {
      train: imageSource(images(64, 1), input),
      validation: imageSource(images(32, 2), input),
      numClasses: 2, batchSize: 16, maxEpochs: 6, patience: undefined, seed: 3, now: Date.now,
      onEpoch: (m) => {
        seen.push(m);
        counts.push(tf.memory().numTensors);
      },
    });
    assert.equal(seen.length, 6);
    assert.deepEqual(seen.map((m) => m.epoch), [0, 1, 2, 3, 4, 5]);
    assert.ok(seen.every((m) => m.epoch_seconds >= 0 && Number.isFinite(m.loss)));
    assert.equal(new Set(counts).size, 1, `tensor count changed across epochs: ${counts.join(', ')}`);
    assert.ok((seen.at(-1)?.val_accuracy ?? 0) > 0.9, `val accuracy ${seen.at(-1)?.val_accuracy}`);
    assert.equal(result.bestEpoch, 5);
    model.dispose();
  });

  it('refuses a training label that is missing or outside the classes instead of training on class 0', async () => {
    const { InternalError } = await import('../../../src/errors.js');
    for (const labels of [new Int32Array(8), Int32Array.from({ length: 16 }, (_, i) => (i === 5 ? 2 : i % 2))]) {
      const model = build(0);
      const train = { ...imageSource(images(16, 1), input), labels };
      await assert.rejects(
        fit(model, { train, validation: imageSource(images(8, 2), input), numClasses: 2, batchSize: 16, maxEpochs: 1, patience: undefined, seed: 3, now: Date.now }),
        (e: unknown) => e instanceof InternalError && /training batch: example \d+ has label (undefined|2), expected a class in 0..1/.test(e.message),
      );
      model.dispose();
    }
  });

  it('evaluates the validation set in batches of batch_size, so lowering it lowers the memory evaluation needs', async () => {
    const model = build(0);
    const sizes: number[] = [];
    const plain = imageSource(images(32, 2), input);
    const validation = { ...plain, batch: (indices: ArrayLike<number>) => (sizes.push(indices.length), plain.batch(indices)) };
    await fit(model, { train: imageSource(images(16, 1), input), validation, numClasses: 2, batchSize: 8, maxEpochs: 1, patience: undefined, seed: 3, now: Date.now });
    assert.deepEqual(sizes, [8, 8, 8, 8]);
    model.dispose();
  });

  it('reports running out of memory while evaluating as out of memory, naming batch_size and a smaller one', async () => {
    const model = build(0);
    model.predict = () => {
      throw new Error('OOM when allocating tensor with shape[8,8,8,4] and type float on /job:localhost/replica:0/task:0/device:CPU:0');
    };
    await assert.rejects(
      fit(model, { train: imageSource(images(16, 1), input), validation: imageSource(images(8, 2), input), numClasses: 2, batchSize: 8, maxEpochs: 1, patience: undefined, seed: 3, now: Date.now }),
      /^TrainingError: Out of memory while evaluating the validation set with batch_size 8; try batch_size 4 .*OOM when allocating/,
    );
    model.dispose();
  });

  it('stops early and restores the best epoch, not the last', async () => {
    const model = build(3);
    const valLosses: number[] = [];
    // validation labels are the opposite of training's: the better the fit, the worse val_loss gets
    const flipped = images(32, 2);
    const validation = imageSource({ ...flipped, labels: flipped.labels.map((l) => 1 - l) }, input);
    const result = await fit(model, {
      train: imageSource(images(64, 1), input),
      validation,
      numClasses: 2, batchSize: 8, maxEpochs: 30, patience: 2, seed: 3, now: Date.now,
      onEpoch: (m) => void valLosses.push(m.val_loss),
    });
    assert.equal(result.stoppedEarly, true);
    assert.ok(valLosses.length < 30);
    const best = Math.min(...valLosses);
    assert.equal(valLosses[result.bestEpoch], best);
    assert.equal(valLosses.length, result.bestEpoch + 3, 'stops after `patience` epochs without improvement');
    assert.ok((valLosses.at(-1) ?? 0) > best);
    const { evaluate } = await import('../../../src/pipeline/evaluate.js');
    const restored = await evaluate(model, validation, 2, 32);
    assert.ok(Math.abs(restored.loss - best) < 1e-5, `restored loss ${restored.loss} vs best ${best}`);
    model.dispose();
  });
});
