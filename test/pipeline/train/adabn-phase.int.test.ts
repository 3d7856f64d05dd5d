/**
 * adabn+coral through the phase pipeline (train/stages.ts) on the tiny graph backbone with its last
 * block trainable and the activation cache on: the run ends with target statistics in every BN layer
 * and the AdaBN tags, the source test set evaluated before they were written; stopped in epoch 2 and
 * resumed from the checkpoint of epoch 1, it ends as the uninterrupted run (no AdaBN state in the
 * checkpoint: the statistics are recomputed from the frozen weights and the fixed images).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import type * as tf from '@tensorflow/tfjs';
import { applyShift } from '../../../src/pipeline/adapt/shift.js';
import { adaptationStep } from '../../../src/pipeline/adapt/step-fit.js';
import { initBackend } from '../../../src/pipeline/backend.js';
import { RunCheckpoints } from '../../../src/pipeline/checkpoint/run-checkpoints.js';
import { CheckpointStore } from '../../../src/pipeline/checkpoint/store.js';
import { batchNormLayers } from '../../../src/pipeline/model/adabn.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { trainPhase, type PhaseOptions } from '../../../src/pipeline/train/stages.js';
import { syntheticImageSet } from '../../support/make-datasets.js';
import { TINY_GRAPH } from '../../support/tiny-graph.js';

const SIZE = 8;
const input = { inputSize: SIZE, preprocessing: TINY_GRAPH.preprocessing };
const logger = pino({ level: 'silent' });
const set = (count: number, seed: number) => syntheticImageSet({ count, height: SIZE, width: SIZE, channels: 3, numClasses: 3, seed });
const source = set(30, 1);
const pool = applyShift(set(36, 2), { kind: 'invert' });

function options(root: string, extra: Partial<PhaseOptions> = {}): PhaseOptions {
  return {
    phase: 'target',
    stages: [{ plan: planFreeze(TINY_GRAPH, { convLayers: 0, blocks: 1 }), learningRate: 0.01, maxEpochs: 2, step: adaptationStep({ method: 'coral', weight: 1, threshold: 0.5, epochExamples: 36 }) }],
    backbone: TINY_GRAPH,
    sets: {
      source: { set: source, domain: 'source' },
      validation: { set: set(9, 4), domain: 'source' },
      source_test: { set: set(9, 7), domain: 'source', everyEpoch: false },
      test: { set: applyShift(set(12, 5), { kind: 'invert' }), domain: 'target', everyEpoch: false },
      entropy: { set: pool, domain: 'target' },
      unlabelled: { set: pool, domain: 'target' },
    },
    alsoEvaluate: ['source_test'],
    numClasses: 3,
    input,
    cache: { mode: 'on', dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 26, maxDiskBytes: 2 ** 26, batchSize: 8, logger, now: Date.now, augment: [] },
    batchSize: 8,
    patience: undefined,
    seed: 3,
    now: Date.now,
    adabn: { images: pool, sourceImages: source },
    ...extra,
  };
}

const build = () => buildClassifier(TINY_GRAPH, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0.5, seed: 1 });
const stats = (model: tf.LayersModel) => batchNormLayers(model).flatMap((l) => l.getWeights().slice(2).flatMap((w) => Array.from(w.dataSync())));

describe('adabn+coral in the phase pipeline', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-adabn-phase-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  it('ends with target statistics and AdaBN tags; stopped in epoch 2 and resumed, it ends as the uninterrupted run', async () => {
    const reference = build();
    const initial = stats(reference);
    const whole = await trainPhase(reference, options(root));
    const final = stats(reference);
    reference.dispose();
    assert.equal(whole.cacheTags['transferkit.adabn_images'], '36');
    assert.equal(whole.cacheTags['transferkit.adabn_source_images'], '30');
    assert.equal(whole.cacheTags['transferkit.adabn_layers'], '4');
    assert.equal(whole.cacheTags['transferkit.bn_statistics'], 'target');
    assert.ok(whole.otherTests?.['source_test'] !== undefined);
    assert.notDeepEqual(final, initial);

    const store = new CheckpointStore(join(root, 'ckpt'), logger);
    const fingerprint = { version: 'test', params: {}, data: 'd', weights: 'w' };
    const open = () => RunCheckpoints.open({ store, fingerprint, runId: undefined, now: Date.now, logger, policy: 'auto' });
    const first = await open();
    const stopped = build();
    const stop = new Error('stop');
    await assert.rejects(
      trainPhase(stopped, options(root, { onProgress: first.progress('target'), beforeBatch: (_m, epoch) => { if (epoch === 1) throw stop; } })),
      (e: unknown) => e === stop,
    );
    assert.notDeepEqual(stats(stopped), final, 'stopped while training: the target statistics are not written yet');
    stopped.dispose();
    const resume = (await open()).resumeFor('target');
    assert.ok(resume !== undefined, 'a checkpoint of epoch 1');
    const resumed = build();
    const rest = await trainPhase(resumed, options(root, { resume }));
    assert.deepEqual(stats(resumed), final, 'the same statistics as the uninterrupted run');
    resumed.dispose();
    assert.equal(rest.test.loss, whole.test.loss, 'the same target test loss');
    assert.equal(rest.otherTests?.['source_test']?.loss, whole.otherTests?.['source_test']?.loss, 'the same source test loss');
  });
});
