/**
 * Two stages (feature extraction, then fine-tuning) with early stopping: when fine-tuning never
 * beats stage 1's best validation loss, the model ends with stage 1's best weights, not with stage
 * 2's own (worse) best, with and without the activation cache (whose cut moves between stages).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { evaluate } from '../../../src/pipeline/evaluate.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';
import { trainPhase } from '../../../src/pipeline/train/stages.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { supervisedSets } from '../../../src/pipeline/train/inputs.js';
import { tinyBackbone, brightnessImages } from '../../support/tiny.js';

const { spec: TINY, input } = tinyBackbone();
const images = brightnessImages;


describe('trainPhase across stages', () => {
  let root: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-stages-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const mode of ['off', 'on'] as const) {
    it(`keeps stage 1's best weights when stage 2 never beats them (activation_cache=${mode})`, async () => {
      // validation labels are the opposite of training's: the better the fit, the worse val_loss
      const sets = { train: images(64, 1), validation: images(32, 2, true), test: images(32, 3, true) };
      const model = buildClassifier(TINY, 8, { numClasses: 2, denseUnits: 8, dropout: 0, seed: 1 });
      const result = await trainPhase(model, {
        phase: 'target',
        stages: [
          { plan: planFreeze(TINY, 0), learningRate: 0.01, maxEpochs: 3 },
          { plan: planFreeze(TINY, 'all'), learningRate: 0.01, maxEpochs: 3 },
        ],
        backbone: TINY,
        sets: supervisedSets(sets, []),
        numClasses: 2,
        input,
        cache: {
          mode, dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 16,
          logger: pino({ level: 'silent' }), now: Date.now, augment: [],
        },
        batchSize: 8,
        patience: 5,
        seed: 3,
        now: Date.now,
      });
      const stage1 = result.epochs.filter((e) => e.stage === 1);
      const stage2 = result.epochs.filter((e) => e.stage === 2);
      assert.equal(stage2.length, 3);
      const best1 = Math.min(...stage1.map((e) => e.val_loss));
      const best2 = Math.min(...stage2.map((e) => e.val_loss));
      assert.ok(best2 > best1, `precondition: stage 2's best ${best2} is worse than stage 1's ${best1}`);
      const bestEpoch1 = stage1.find((e) => e.val_loss === best1)?.epoch;
      assert.equal(result.bestEpoch, bestEpoch1, 'the model holds the epoch of the lowest validation loss over both stages');
      assert.equal(result.stages[1]?.bestEpoch, bestEpoch1);
      const held = await evaluate(model, imageSource(sets.validation, input), 2, 32);
      assert.ok(Math.abs(held.loss - best1) < 1e-4, `validation loss of the final model ${held.loss}, stage 1's best ${best1}, stage 2's best ${best2}`);
      model.dispose();
    });
  }
});
