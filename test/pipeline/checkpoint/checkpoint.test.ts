import { describe, it } from 'node:test';
import { CheckpointError } from '../../../src/errors.js';
import { CHECKPOINT_FORMAT_VERSION } from '../../../src/pipeline/checkpoint/state.js';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { CheckpointFormatError, decodeCheckpoint, encodeCheckpoint } from '../../../src/pipeline/checkpoint/format.js';
import { fingerprintDiff, type Manifest } from '../../../src/pipeline/checkpoint/state.js';
import { CheckpointStore } from '../../../src/pipeline/checkpoint/store.js';
import { ParamError } from '../../../src/errors.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import { outOfMemory } from '../../../src/pipeline/train/fit.js';
import { parseFault } from '../../../src/faults.js';

const fp = { version: '0.1.0', params: { learning_rate: '0.001', seed: '42' }, data: 'a'.repeat(64), weights: 'sha256:' + 'b'.repeat(64) };
const manifest = (epoch: number, phase: Manifest['phase'] = 'target'): Manifest => ({
  format: 'transferkit-checkpoint', version: CHECKPOINT_FORMAT_VERSION, run_id: 'r'.repeat(32), fingerprint: fp, phase, stage: 1, epoch, stage_done: false,
  stage_epochs: [{ epoch, stage: 1, loss: 0.5, accuracy: Number.NaN, val_loss: 0.6, val_accuracy: 0.7, epoch_seconds: 1, time: 1000 + epoch }],
  earlier_stages: [], early_stop: { bestLoss: 0.6, bestEpoch: epoch, wait: 0 }, completed_phases: {}, saved_at: 5000 + epoch,
});
const tensors = { weights: [{ name: 'fc1/kernel', shape: [2, 3], dtype: 'float32' as const, values: Float32Array.from([1, 2, 3, 4, 5, 6]) }], optimizer: [{ name: 'iter', shape: [], dtype: 'int32' as const, values: Int32Array.from([7]) }] };
const quiet = () => pino({ level: 'silent' });

describe('checkpoint file format', () => {
  it('round-trips the manifest and the tensors (NaN metrics stay NaN)', () => {
    const bytes = encodeCheckpoint(manifest(3), tensors);
    const back = decodeCheckpoint(bytes);
    assert.deepEqual(Array.from(back.tensors['weights']?.[0]?.values ?? []), [1, 2, 3, 4, 5, 6]);
    assert.equal(back.tensors['optimizer']?.[0]?.values[0], 7);
    assert.deepEqual(back.tensors['weights']?.[0]?.shape, [2, 3]);
  });
  it('refuses a truncated or altered file, never returning its tensors', () => {
    const bytes = encodeCheckpoint(manifest(3), tensors);
    assert.throws(() => decodeCheckpoint(bytes.subarray(0, bytes.byteLength - 4)), CheckpointFormatError);
    const flipped = Buffer.from(bytes);
    flipped[flipped.byteLength - 1] = (flipped[flipped.byteLength - 1] ?? 0) ^ 0xff;
    assert.throws(() => decodeCheckpoint(flipped), /do not match their sha256/);
    assert.throws(() => decodeCheckpoint(Buffer.from('not a checkpoint at all')), /bad magic/);
  });
});

describe('CheckpointStore', () => {
  it('keeps the newest two, and skips a damaged newest file for the one before it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-ckpt-'));
    try {
      const store = new CheckpointStore(dir, quiet());
      for (const e of [0, 1, 2]) await store.write(manifest(e), encodeCheckpoint(manifest(e), tensors));
      const files = (await readdir(dir)).sort();
      assert.equal(files.length, 2, files.join(', '));
      assert.equal((await store.latest())?.manifest.epoch, 2);
      const newest = join(dir, files.at(-1) ?? '');
      const bytes = await readFile(newest);
      await writeFile(newest, bytes.subarray(0, bytes.byteLength >> 1));
      assert.equal((await store.latest())?.manifest.epoch, 1, 'falls back to the previous, whole checkpoint');
      await store.clear();
      assert.equal(await store.latest(), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  it('orders phases: a scratch-phase checkpoint is newer than any target one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-ckpt-'));
    try {
      const store = new CheckpointStore(dir, quiet());
      await store.write(manifest(9), encodeCheckpoint(manifest(9), tensors));
      await store.write(manifest(0, 'scratch'), encodeCheckpoint(manifest(0, 'scratch'), tensors));
      assert.equal((await store.latest())?.manifest.phase, 'scratch');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('checkpoints of another format version', () => {
  it('are refused by name with resume=never as the way out, not skipped as damaged', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-ckpt-'));
    try {
      const store = new CheckpointStore(dir, quiet());
      const old = { ...manifest(4), version: 2 }; // before adaptation runs were checkpointed
      await writeFile(join(dir, 'ckpt-1-0000005-r-target-stage1.tkckpt'), encodeCheckpoint(old, tensors));
      await assert.rejects(store.latest(), (e: unknown) => e instanceof CheckpointError && e.code === 'ERR_CHECKPOINT' && /format version 2, this transferkit reads version 3/.test(e.message) && /resume=never/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fingerprintDiff', () => {
  it('is empty for the same inputs and names each difference', () => {
    assert.deepEqual(fingerprintDiff(fp, fp), []);
    const other = { ...fp, params: { ...fp.params, learning_rate: '0.01' }, data: 'c'.repeat(64) };
    assert.deepEqual(fingerprintDiff(fp, other), ['data fingerprint aaaaaaaaaaaa… → cccccccccccc…', 'learning_rate "0.001" → "0.01"']);
  });
});

describe('resume parameter', () => {
  it('takes auto, never or a run id; names anything else', () => {
    assert.equal(parseParams(trainParamsSchema, {}).resume, 'auto');
    assert.equal(parseParams(trainParamsSchema, { resume: 'never' }).resume, 'never');
    assert.equal(parseParams(trainParamsSchema, { resume: 'AB'.repeat(16) }).resume, 'ab'.repeat(16));
    assert.throws(() => parseParams(trainParamsSchema, { resume: 'yesterday' }), (e: unknown) => e instanceof ParamError && /"resume" must be "auto", "never", or the 32-character id/.test(e.message));
  });
});

describe('out of memory', () => {
  it("turns TensorFlow's allocation failure into advice naming a smaller batch_size", () => {
    const e = outOfMemory(new Error('OOM when allocating tensor with shape[512,512,3,3] and type float on /job:localhost'), 256);
    assert.match(e?.message ?? '', /^Out of memory while training with batch_size 256; try batch_size 128 .*OOM when allocating tensor/);
    assert.equal(outOfMemory(new Error('Incompatible shapes'), 256), undefined);
  });
});

describe('fault specs', () => {
  it('parses the suite\'s faults and rejects others', () => {
    assert.deepEqual(parseFault('kill@batch:2:3'), { kind: 'kill', at: 'batch', epoch: 2, batch: 3 });
    assert.deepEqual(parseFault('kill@upload'), { kind: 'kill', at: 'upload' });
    assert.equal(parseFault(undefined), undefined);
    assert.throws(() => parseFault('explode@now'), /is not a fault/);
  });
});
