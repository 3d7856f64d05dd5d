/**
 * What the activation cache does when building it fails, on every path (activations kept in memory
 * or written to the cache file): float16 overflow is one named error naming cache_dtype=float32,
 * TensorFlow running out of memory is an out-of-memory error naming batch_size, and neither is
 * mistaken for "does not fit". The memory budget is one total over the training, validation and
 * test sets.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { TrainingError } from '../../../src/errors.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { cachedActivations, Float16OverflowError } from '../../../src/pipeline/cache/activations.js';
import { splitAtFreeze } from '../../../src/pipeline/cache/split.js';
import { stackSpec } from '../../../src/pipeline/model/arch/vgg.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import { trainingInputs, type CacheSettings } from '../../../src/pipeline/train/inputs.js';
import { syntheticImageSet } from '../../support/make-datasets.js';

const SPEC = stackSpec({
  name: 'tiny', description: 'test', filters: [[6, 6], [8, 8]], defaultInputSize: 12, minInputSize: 4, preprocessing: PREPROCESSING.caffe, weights: {}, flops: { inputSize: 12, gflops: 0 },
});
const input = { inputSize: 12, preprocessing: PREPROCESSING.caffe };
const sets = {
  train: syntheticImageSet({ count: 40, height: 10, width: 10, channels: 1, numClasses: 3, seed: 1 }),
  validation: syntheticImageSet({ count: 15, height: 10, width: 10, channels: 1, numClasses: 3, seed: 2 }),
  test: syntheticImageSet({ count: 20, height: 10, width: 10, channels: 1, numClasses: 3, seed: 3 }),
};

/** Everything frozen (the cut after Flatten); `huge`: a first conv whose outputs exceed float16's range. */
function build(huge = false): tf.LayersModel {
  const model = buildClassifier(SPEC, 12, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 4 });
  applyFreeze(model, SPEC, planFreeze(SPEC, 0));
  if (huge) {
    const conv = model.getLayer('block1_conv1');
    const [kernel, bias] = conv.getWeights();
    if (kernel === undefined || bias === undefined) throw new Error('block1_conv1 has no kernel');
    conv.setWeights([tf.fill(kernel.shape, 1e4), bias]);
  }
  return model;
}

describe('activation cache failures', () => {
  let root: string;
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const settings = (over: Partial<CacheSettings> = {}): CacheSettings => ({
    mode: 'on', dtype: 'float16', cacheRoot: root, memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 16, logger, now: Date.now, augment: [], ...over,
  });

  before(async () => {
    await initBackend('tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-cache-fail-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const [where, budget] of [['in memory', 2 ** 30], ['in the cache file', 0]] as const) {
    it(`float16 overflow ${where}: Float16OverflowError naming cache_dtype=float32, not "does not fit"`, async () => {
      const model = build(true);
      await assert.rejects(
        trainingInputs(model, sets, input, settings({ memoryBudgetBytes: budget, cacheRoot: join(root, `overflow-${budget}`) })),
        (e: unknown) => e instanceof Float16OverflowError && e.code === 'ERR_TRAINING' && /exceed float16's range.*cache_dtype=float32/.test(e.message),
      );
      model.dispose();
    });

    it(`out of memory while computing activations ${where}: names batch_size and a smaller one`, async () => {
      const model = build();
      const split = splitAtFreeze(model);
      assert.ok(split);
      split.prefix.predict = () => {
        throw new Error('OOM when allocating tensor with shape[16,6,12,12] and type float on /job:localhost/replica:0/task:0/device:CPU:0');
      };
      const options = { dir: join(root, `oom-${budget}`), dtype: 'float32' as const, memoryBudgetBytes: budget, maxDiskBytes: 2 ** 30, batchSize: 16, logger, now: Date.now };
      await assert.rejects(
        cachedActivations(split.prefix, sets.train, input, `oom-${budget}`, 288, options),
        (e: unknown) => e instanceof TrainingError && /^Out of memory while building the activation cache with batch_size 16; try batch_size 8 .*OOM when allocating/.test(e.message),
      );
      model.dispose();
    });
  }

  it('keeps activations in memory up to one budget over all three sets, the rest in the cache file', async () => {
    const model = build();
    const split = splitAtFreeze(model);
    assert.ok(split);
    const rowBytes = split.featureShape.reduce((a, b) => a * b, 1) * 4;
    lines.length = 0;
    // the training and validation sets fit; with the test set they would not
    const inputs = await trainingInputs(model, sets, input, settings({ dtype: 'float32', memoryBudgetBytes: (sets.train.count + sets.validation.count) * rowBytes, cacheRoot: join(root, 'budget') }));
    const ready = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'activation cache ready');
    assert.deepEqual([ready?.in_memory, ready?.from_file], [['train', 'validation'], ['test']], lines.join(''));
    assert.equal(inputs.test.batch([0, 19]).shape[0], 2, 'the file-backed set still reads');
    inputs.dispose();
    model.dispose();
  });
});
