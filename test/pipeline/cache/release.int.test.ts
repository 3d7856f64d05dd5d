/**
 * The classifier's layers are shared with the cache split's suffix and with the export's
 * pixels-in wrapper, and tfjs-layers counts every apply of a layer: each must let go of them, or
 * disposing the classifier leaves their weights behind (4 tensors per cached phase with the pooled
 * head, every weight after an export). And letting go must not free what the classifier still uses.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { withPreprocessing } from '../../../src/pipeline/export/self-contained.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import { supervisedSets } from '../../../src/pipeline/train/inputs.js';
import { trainPhase, type StageSpec } from '../../../src/pipeline/train/stages.js';
import { tinyBackbone, colourImages } from '../../support/tiny.js';

const { spec: TINY, input } = tinyBackbone();
const images = colourImages;


describe('shared layers are let go of', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-release-'));
  });
  const sets = { train: images(24, 1), validation: images(12, 2), test: images(12, 3) };

  for (const [head, solver] of [['pooled', undefined], ['linear', 'ridge']] as const) {
    it(`a phase on cached activations leaves no tensor once the classifier is disposed (${head} head${solver === undefined ? '' : `, ${solver}`})`, async () => {
      const stage: StageSpec = { plan: planFreeze(TINY, 0), learningRate: 0.01, maxEpochs: 2, ...(solver === undefined ? {} : { solver }) };
      const run = async () => {
        const model = buildClassifier(TINY, 8, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 5, head });
        const result = await trainPhase(model, {
          phase: 'target', stages: [stage], backbone: TINY, sets: supervisedSets(sets, []), numClasses: 3, input,
          cache: { mode: 'on', dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 16, logger: pino({ level: 'silent' }), now: Date.now, augment: [] },
          batchSize: 8, patience: 3, seed: 3, now: Date.now,
        });
        assert.equal(result.cacheTags['transferkit.activation_cache'] !== undefined, true);
        // the classifier still works after the phase let go of its layers
        const y = tf.tidy(() => (model.predict(tf.zeros([2, 8, 8, 3])) as tf.Tensor).sum().dataSync()[0]);
        assert.ok(Math.abs((y ?? 0) - 2) < 1e-4, `softmax rows sum to 1 each: ${y}`);
        model.dispose();
      };
      await run(); // the first run fills the cache; the second reads it
      const before = tf.memory().numTensors;
      await run();
      assert.equal(tf.memory().numTensors - before, 0);
    });
  }

  it('the export wrapper lets go of the classifier layers and frees its preprocess layer', () => {
    const before = tf.memory().numTensors;
    const model = buildClassifier(TINY, 8, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 5, head: 'pooled' });
    const wrapped = withPreprocessing(model, PREPROCESSING.unit);
    const x = tf.zeros([1, 8, 8, 3]);
    const out = () => Array.from(tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync()));
    const first = out();
    wrapped.dispose();
    assert.deepEqual(out(), first, 'the classifier keeps its weights after the wrapper is disposed');
    x.dispose();
    model.dispose();
    assert.equal(tf.memory().numTensors - before, 0);
  });
});
