/**
 * The activation cache is the same computation as training end to end with the frozen layers:
 * same initial weights, same batches, predictions within float tolerance. And the cache on disk is
 * reused, rebuilt when corrupt, and optional when its folder cannot be written.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import type { BackboneSpec } from '../../../src/pipeline/model/backbones.js';
import { stackSpec } from '../../../src/pipeline/model/arch/vgg.js';
import { PREPROCESSING } from '../../../src/pipeline/model/spec.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { modelFlops } from '../../../src/pipeline/cache/cost.js';
import { splitAtFreeze } from '../../../src/pipeline/cache/split.js';
import { fit } from '../../../src/pipeline/train/fit.js';
import { trainingInputs, type CacheSettings } from '../../../src/pipeline/train/inputs.js';
import { imageSource } from '../../../src/pipeline/train/source.js';
import { syntheticImageSet } from '../../support/make-datasets.js';

const SPEC: BackboneSpec = stackSpec({
  name: 'tiny', description: 'test', filters: [[6, 6], [8, 8]], defaultInputSize: 12, minInputSize: 4, preprocessing: PREPROCESSING.caffe, weights: {}, flops: { inputSize: 12, gflops: 0 },
});
const input = { inputSize: 12, preprocessing: PREPROCESSING.caffe };
const sets = {
  train: syntheticImageSet({ count: 60, height: 10, width: 10, channels: 1, numClasses: 3, seed: 1 }),
  validation: syntheticImageSet({ count: 15, height: 10, width: 10, channels: 1, numClasses: 3, seed: 2 }),
  test: syntheticImageSet({ count: 30, height: 10, width: 10, channels: 1, numClasses: 3, seed: 3 }),
};

function build(retrained: number) {
  const model = buildClassifier(SPEC, 12, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 4 });
  const plan = planFreeze(SPEC, retrained);
  applyFreeze(model, SPEC, plan);
  return { model, plan };
}

async function train(model: tf.LayersModel, train: ReturnType<typeof imageSource>, validation: ReturnType<typeof imageSource>) {
  model.compile({ optimizer: tf.train.adam(0.01), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return fit(model, { train, validation, numClasses: 3, batchSize: 8, maxEpochs: 4, patience: undefined, seed: 5, now: Date.now });
}

const predict = (model: tf.LayersModel, set: ImageSet) =>
  tf.tidy(() => {
    const out = model.predict(imageSource(set, input).batch(Int32Array.from({ length: set.count }, (_, i) => i)));
    return Array.from((Array.isArray(out) ? out[0] : out)?.dataSync() ?? []);
  });
const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN))));

describe('activation cache', () => {
  let root: string;
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
  const settings = (over: Partial<CacheSettings> = {}): CacheSettings => ({
    mode: 'on', dtype: 'float32', cacheRoot: root, memoryBudgetBytes: 2 ** 30, maxDiskBytes: 2 ** 30, batchSize: 16, logger, now: Date.now, augment: [], ...over,
  });

  before(async () => {
    await initBackend('tensorflow');
    root = await mkdtemp(join(tmpdir(), 'transferkit-cache-'));
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const retrained of [0, 2]) {
    it(`trains to the same predictions as the end-to-end model (retrained_conv_layers=${retrained})`, async () => {
      const plain = build(retrained);
      const plainResult = await train(plain.model, imageSource(sets.train, input), imageSource(sets.validation, input));
      const cached = build(retrained);
      const inputs = await trainingInputs(cached.model, sets, input, settings());
      // All frozen: the cut moves past the weightless Flatten; else it sits before the first trainable conv.
      assert.equal(inputs.cacheTags['transferkit.activation_cache_cut_after'], retrained === 0 ? 'flatten' : 'block1_pool');
      const cachedResult = await train(inputs.model, inputs.train, inputs.validation);
      plainResult.epochs.forEach((e, i) => assert.ok(Math.abs(e.loss - (cachedResult.epochs[i]?.loss ?? 0)) < 1e-4, `epoch ${i} loss`));
      const diff = maxDiff(predict(plain.model, sets.test), predict(cached.model, sets.test));
      assert.ok(diff < 1e-4, `max prediction difference ${diff}`);
      inputs.dispose();
      plain.model.dispose();
      cached.model.dispose();
    });
  }

  it('stores float16 at half the size, with predictions close to float32', async () => {
    const a = build(0);
    const inputs32 = await trainingInputs(a.model, sets, input, settings({ dtype: 'float32' }));
    const inputs16 = await trainingInputs(a.model, sets, input, settings({ dtype: 'float16' }));
    assert.equal(Number(inputs16.cacheTags['transferkit.activation_cache_bytes']) * 2, Number(inputs32.cacheTags['transferkit.activation_cache_bytes']));
    const x32 = inputs32.test.batch([0, 1, 2]).dataSync();
    const x16 = inputs16.test.batch([0, 1, 2]).dataSync();
    x32.forEach((v, i) => assert.ok(Math.abs(v - (x16[i] ?? 0)) <= Math.abs(v) * 2 ** -11 + 1e-7, `value ${i}: ${v} vs ${x16[i]}`));
    a.model.dispose();
  });

  it('is reused by a later run with the same base and data, and not by one with another base', async () => {
    const first = build(0);
    await trainingInputs(first.model, sets, input, settings());
    const again = build(0);
    const hit = await trainingInputs(again.model, sets, input, settings());
    assert.equal(hit.cacheTags['transferkit.activation_cache'], 'hit');
    const other = buildClassifier(SPEC, 12, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 99 });
    applyFreeze(other, SPEC, first.plan);
    const miss = await trainingInputs(other, sets, input, settings());
    assert.equal(miss.cacheTags['transferkit.activation_cache'], 'miss');
    [first.model, again.model, other].forEach((m) => m.dispose());
  });

  it('reads rows from the cache file when they do not fit the memory budget, with the same values', async () => {
    const m = build(0);
    const inMemory = await trainingInputs(m.model, sets, input, settings());
    const fromFile = await trainingInputs(m.model, sets, input, settings({ memoryBudgetBytes: 0 }));
    assert.equal(fromFile.cacheTags['transferkit.activation_cache'], 'hit');
    const rows = [5, 0, 29];
    assert.deepEqual(Array.from(fromFile.test.batch(rows).dataSync()), Array.from(inMemory.test.batch(rows).dataSync()));
    fromFile.dispose();
    m.model.dispose();
  });

  it('rebuilds a corrupt or truncated cache file instead of trusting it', async () => {
    const dir = join(root, 'activations');
    for (const name of (await readdir(dir)).filter((n) => n.endsWith('.tkc'))) await writeFile(join(dir, name), 'garbage');
    warnings.length = 0;
    const m = build(0);
    const inputs = await trainingInputs(m.model, sets, input, settings());
    assert.equal(inputs.cacheTags['transferkit.activation_cache'], 'miss');
    assert.ok(warnings.some((w) => /activation cache file is not valid; rebuilding it/.test(w)));
    const again = await trainingInputs(m.model, sets, input, settings());
    assert.equal(again.cacheTags['transferkit.activation_cache'], 'hit');
    m.model.dispose();
  });

  it('goes on in memory, with a warning, when the cache folder cannot be written', async () => {
    const blocked = join(root, 'not-a-dir');
    await writeFile(blocked, 'a file where the cache folder should be');
    warnings.length = 0;
    const m = build(0);
    const inputs = await trainingInputs(m.model, sets, input, settings({ cacheRoot: blocked }));
    assert.equal(inputs.cacheTags['transferkit.activation_cache'], 'memory');
    assert.ok(warnings.some((w) => /cannot write the activation cache/.test(w)));
    m.model.dispose();
  });

  it('is safe when concurrent runs build the same entry', async () => {
    warnings.length = 0;
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-cache-race-'));
    const a = build(0);
    const results = await Promise.all([1, 2, 3].map(() => trainingInputs(a.model, sets, input, settings({ cacheRoot: dir }))));
    const statuses = results.map((r) => r.cacheTags['transferkit.activation_cache'] ?? '');
    assert.ok(statuses.every((s) => ['miss', 'hit', 'partial hit'].includes(s)), `statuses ${statuses.join(', ')}; warnings ${warnings.join('')}`);
    const files = await readdir(join(dir, 'activations'));
    assert.deepEqual(files.filter((f) => !f.endsWith('.tkc')), [], 'no temp files left');
    assert.equal(files.length, 3, 'one file per set');
    const hit = await trainingInputs(a.model, sets, input, settings({ cacheRoot: dir }));
    assert.equal(hit.cacheTags['transferkit.activation_cache'], 'hit');
    a.model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('auto skips a prefix cheaper to recompute than to cache, and says so; on caches it anyway', async () => {
    const m = build(0);
    const split = splitAtFreeze(m.model);
    assert.ok(split);
    // block1: 12·12·6·(3·9)·2 + 12·12·6·(6·9)·2; block2 at 6×6: 6·6·8·(6·9)·2 + 6·6·8·(8·9)·2
    assert.equal(modelFlops(split.prefix), 12 * 12 * 6 * 27 * 2 + 12 * 12 * 6 * 54 * 2 + 6 * 6 * 8 * 54 * 2 + 6 * 6 * 8 * 72 * 2);
    const auto = await trainingInputs(m.model, sets, input, settings({ mode: 'auto' }));
    assert.match(auto.cacheTags['transferkit.activation_cache'] ?? '', /^off \(auto: the frozen prefix costs 0\.\d MFLOP per image/);
    assert.equal(auto.model, m.model, 'the whole model trains on images');
    const on = await trainingInputs(m.model, sets, input, settings({ mode: 'on' }));
    assert.notEqual(on.model, m.model);
    on.dispose();
    m.model.dispose();
  });
});
