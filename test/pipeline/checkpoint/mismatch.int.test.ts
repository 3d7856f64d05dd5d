/**
 * A checkpoint whose fingerprint matches but whose tensors do not fit the model (another build of
 * the code, an edited file): resuming stops with a user error naming the file and `resume=never`,
 * never an internal error with a stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { describeFailure } from '../../../src/entry/failure.js';
import { CheckpointError } from '../../../src/errors.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { encodeCheckpoint, type RawTensor } from '../../../src/pipeline/checkpoint/format.js';
import { RunCheckpoints } from '../../../src/pipeline/checkpoint/run-checkpoints.js';
import { CHECKPOINT_FORMAT_VERSION, type Manifest } from '../../../src/pipeline/checkpoint/state.js';
import { CheckpointStore } from '../../../src/pipeline/checkpoint/store.js';

const fingerprint = { version: '0.1.0', params: { seed: '1' }, data: 'a'.repeat(64), weights: 'none' };
const manifest: Manifest = {
  format: 'transferkit-checkpoint', version: CHECKPOINT_FORMAT_VERSION, run_id: null, fingerprint, phase: 'target', stage: 1, epoch: 0, stage_done: false,
  stage_epochs: [{ epoch: 0, stage: 1, loss: 0.5, accuracy: 0.5, val_loss: 0.6, val_accuracy: 0.5, epoch_seconds: 1, time: 1000 }],
  earlier_stages: [], early_stop: { bestLoss: 0.6, bestEpoch: 0, wait: 0 }, completed_phases: {}, saved_at: 2000,
};
const f32 = (name: string, shape: number[]): RawTensor => ({ name, shape, dtype: 'float32', values: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
/** What a model with one Dense(3) layer on 2 inputs saves. */
const fitting = { weights: [f32('fc1/kernel', [2, 3]), f32('fc1/bias', [3])], optimizer: [], best: [f32('fc1/kernel', [2, 3]), f32('fc1/bias', [3])] };

function model(): tf.LayersModel {
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], name: 'fc1' })] });
  m.compile({ optimizer: tf.train.adam(0.01), loss: 'meanSquaredError' });
  return m;
}

describe('resuming from a checkpoint whose tensors do not fit the model', () => {
  let root: string;
  before(async () => {
    await initBackend('tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-ckpt-mismatch-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  const cases: [string, Record<string, RawTensor[]>, RegExp][] = [
    ['a weight of another shape', { ...fitting, weights: [f32('fc1/kernel', [2, 4]), f32('fc1/bias', [3])] }, /fc1\/kernel is 2×4 in the checkpoint, 2×3 in the model/],
    ['another number of weights', { ...fitting, weights: [f32('fc1/kernel', [2, 3])] }, /1 trainable weights, the model 2/],
    ['best weights of another shape', { ...fitting, best: [f32('fc1/kernel', [5, 3]), f32('fc1/bias', [3])] }, /best weights/],
    ['optimizer state of another size', { ...fitting, optimizer: [{ name: 'iter', shape: [], dtype: 'int32', values: Int32Array.from([1]) }, f32('fc1/kernel/m', [7])] }, /optimizer/],
  ];
  for (const [what, tensors, detail] of cases) {
    it(`${what}: a CheckpointError naming the file and resume=never`, async () => {
      const dir = join(root, what.replace(/\W+/g, '-'));
      const store = new CheckpointStore(dir, pino({ level: 'silent' }));
      const path = await store.write(manifest, encodeCheckpoint(manifest, tensors));
      const m = model();
      try {
        const checkpoints = await RunCheckpoints.open({ store, fingerprint, runId: undefined, now: Date.now, logger: pino({ level: 'silent' }), policy: 'auto' });
        const failure = await (async () => {
          try {
            const resume = checkpoints.resumeFor('target');
            await resume?.restore(m);
          } catch (error) {
            return error;
          }
          return undefined;
        })();
        assert.ok(failure instanceof CheckpointError, `got ${String(failure)}`);
        assert.equal(failure.code, 'ERR_CHECKPOINT');
        assert.ok(failure.message.includes(path), failure.message);
        assert.match(failure.message, /resume=never/);
        assert.match(failure.message, detail);
        const shown = describeFailure(failure);
        assert.equal(shown.userError, true);
        assert.doesNotMatch(shown.message, /internal error|\n\s+at /);
      } finally {
        m.dispose();
      }
    });
  }
});
