/**
 * The adaptation step inside the phase pipeline (trainPhase) on tiny synthetic data, every method:
 * per-epoch metrics of the method, frozen layers bit-identical, the trainable ones moved, no tensor
 * left behind; with the activation cache on the frozen prefix where it applies; and a run stopped
 * after epoch 1 and continued from its checkpoint ends exactly as the uninterrupted one.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../../src/pipeline/backend.js';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { applyShift } from '../../../src/pipeline/adapt/shift.js';
import { adaptationStep } from '../../../src/pipeline/adapt/step-fit.js';
import { METHOD_METRICS } from '../../../src/pipeline/adapt/epoch-metrics.js';
import type { AdaptationMethod } from '../../../src/pipeline/adapt/adapt-params.js';
import { RunCheckpoints } from '../../../src/pipeline/checkpoint/run-checkpoints.js';
import { CheckpointStore } from '../../../src/pipeline/checkpoint/store.js';
import type { PhaseSets } from '../../../src/pipeline/train/inputs.js';
import { trainPhase, type PhaseOptions } from '../../../src/pipeline/train/stages.js';
import { syntheticImageSet } from '../../support/make-datasets.js';

const spec = getBackbone('small-cnn');
const input = { inputSize: 16, preprocessing: spec.preprocessing };
const logger = pino({ level: 'silent' });
const set = (count: number, seed: number) => syntheticImageSet({ count, height: 16, width: 16, channels: 1, numClasses: 4, seed });

function sets(method: AdaptationMethod): PhaseSets {
  const pool = applyShift(set(48, 2), { kind: 'noise', seed: 1, std: 0.1 });
  const common: PhaseSets = {
    source: { set: set(40, 1) },
    validation: { set: set(12, 4) },
    test: { set: applyShift(set(12, 5), { kind: 'noise', seed: 2, std: 0.1 }), everyEpoch: false },
    entropy: { set: set(12, 6) },
  };
  switch (method) {
    case 'none':
      return common;
    case 'dann':
    case 'coral':
      return { ...common, unlabelled: { set: pool } };
    case 'pseudo_label':
      return { ...common, targetLabelled: { set: set(8, 3) }, unlabelled: { set: pool, augment: ['flip', 'crop'] }, weak: { set: pool, augment: ['flip'] } };
  }
}

function options(method: AdaptationMethod, root: string, mode: 'off' | 'on', extra: Partial<PhaseOptions> = {}): PhaseOptions {
  const step = adaptationStep({ method, weight: 1, threshold: 0.5, epochExamples: 48 });
  return {
    phase: 'target',
    stages: [{ plan: planFreeze(spec, 1), learningRate: 0.01, maxEpochs: 2, step }],
    backbone: spec,
    sets: sets(method),
    numClasses: 4,
    input,
    cache: { mode, dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 28, maxDiskBytes: 2 ** 28, batchSize: 8, logger, now: Date.now, augment: [] },
    batchSize: 8,
    patience: 5,
    seed: 3,
    now: Date.now,
    ...extra,
  };
}

const build = () => buildClassifier(spec, 16, { numClasses: 4, denseUnits: 16, dropout: 0.5, seed: 1 });

describe('the adaptation step in the phase pipeline', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-adapt-step-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const method of ['none', 'dann', 'coral', 'pseudo_label'] as const) {
    it(`${method}: its metrics every epoch, frozen layers untouched, no tensor leaked`, async () => {
      const before = tf.memory().numTensors;
      const model = build();
      const frozen = Array.from(model.getLayer('block1_conv1').getWeights()[0]?.dataSync() ?? []);
      const trained = Array.from(model.getLayer('block1_conv2').getWeights()[0]?.dataSync() ?? []);
      const result = await trainPhase(model, options(method, root, 'off'));
      assert.equal(result.epochs.length, 2);
      for (const m of result.epochs) {
        const values: Record<string, unknown> = { ...m };
        for (const key of ['loss', 'class_loss', 'val_loss', 'target_entropy', 'target_test_accuracy', ...METHOD_METRICS[method]]) {
          assert.equal(typeof values[key], 'number', `${method} epoch ${m.epoch}: ${key}`);
          if (key !== 'pseudo_label_accuracy') assert.ok(Number.isFinite(values[key]), `${method}: ${key} = ${String(values[key])}`);
        }
        for (const other of Object.values(METHOD_METRICS).flat().filter((k) => !METHOD_METRICS[method].includes(k))) assert.ok(!(other in values), `${method} does not log ${other}`);
      }
      assert.ok([0, 1].includes(result.bestEpoch));
      assert.equal(result.test.count, 12);
      assert.deepEqual(Array.from(model.getLayer('block1_conv1').getWeights()[0]?.dataSync() ?? []), frozen, 'frozen conv layer bit-identical');
      assert.notDeepEqual(Array.from(model.getLayer('block1_conv2').getWeights()[0]?.dataSync() ?? []), trained, 'trainable conv layer moved');
      model.dispose();
      assert.equal(tf.memory().numTensors, before, 'no tensor leaked');
    });
  }

  for (const method of ['coral', 'pseudo_label'] as const) {
    it(`${method}: the frozen prefix's activations are cached for the sets without augmentation, as in the uncached run`, async () => {
      const plain = build();
      const uncached = await trainPhase(plain, options(method, root, 'off'));
      plain.dispose();
      const model = build();
      const cached = await trainPhase(model, options(method, root, 'on'));
      model.dispose();
      assert.match(cached.cacheTags['transferkit.activation_cache'] ?? '', /^(miss|hit|partial hit)$/, 'the frozen block is cached');
      const augmented = Object.keys(cached.cacheTags).filter((k) => /^transferkit\.activation_cache_(unlabelled|weak)$/.test(k));
      assert.deepEqual(augmented, method === 'pseudo_label' ? ['transferkit.activation_cache_unlabelled', 'transferkit.activation_cache_weak'] : []);
      // the prefix in inference mode either way (small-cnn has no BatchNorm; dropout is in the head): the same computation
      assert.ok(Math.abs(cached.test.loss - uncached.test.loss) < 1e-4, `test loss ${cached.test.loss} cached vs ${uncached.test.loss}`);
    });
  }

  for (const method of ['dann', 'coral', 'pseudo_label'] as const) {
    it(`${method}: stopped in epoch 2 and resumed from the checkpoint of epoch 1, it ends as the uninterrupted run`, async () => {
      // no early stopping: the model ends with its last epoch's weights, whatever the validation loss did
      const reference = build();
      const whole = await trainPhase(reference, options(method, root, 'off', { patience: undefined }));
      reference.dispose();
      const store = new CheckpointStore(join(root, `ckpt-${method}`), logger);
      const fingerprint = { version: 'test', params: {}, data: 'd', weights: 'w' };
      const open = () => RunCheckpoints.open({ store, fingerprint, runId: undefined, now: Date.now, logger, policy: 'auto' });
      const first = await open();
      const stopped = build();
      const stop = new Error('stop');
      await assert.rejects(
        trainPhase(stopped, options(method, root, 'off', { patience: undefined, onProgress: first.progress('target'), beforeBatch: (_m, epoch) => { if (epoch === 1) throw stop; } })),
        (e: unknown) => e === stop,
      );
      stopped.dispose();
      const again = await open();
      const resume = again.resumeFor('target');
      assert.ok(resume !== undefined, 'a checkpoint of epoch 1');
      const resumed = build();
      const rest = await trainPhase(resumed, options(method, root, 'off', { patience: undefined, resume }));
      resumed.dispose();
      assert.deepEqual(rest.epochs.map((e) => e.epoch), [0, 1]);
      const numbers = (r: typeof whole) => r.epochs.map(({ time: _t, epoch_seconds: _s, ...m }) => m);
      assert.deepEqual(numbers(rest)[0], numbers(whole)[0], 'epoch 1 comes from the checkpoint as it was');
      const resumedEpoch: Record<string, number> = { ...numbers(rest)[1] };
      for (const [k, v] of Object.entries(numbers(whole)[1] ?? {})) {
        const got = resumedEpoch[k];
        assert.ok(Number.isNaN(v) ? Number.isNaN(got) : Math.abs((got ?? Number.NaN) - v) < 1e-5, `epoch 2 ${k}: ${String(got)} vs ${v}`);
      }
      // bit-identical: Adam's β powers are restored as training made them (checkpoint/tensors.ts)
      assert.equal(rest.test.loss, whole.test.loss, 'the same test loss as the uninterrupted run');
    });
  }
});
