/**
 * Where a cold activation-cache build spends its time, step by step, with transferkit's own
 * functions (the steps src/pipeline/train/inputs.ts runs): weights digest, image digests, the
 * frozen forward alone, `cachedActivations` in memory only, and `cachedActivations` with the cache
 * folder (forward + float16 + file write + fsync + sha256).
 *
 *   node --import tsx bench/profile-cache.ts --data_dir DIR --weights PATH.h5 [--samples_per_class N] [--retrained N]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createLogger } from '../src/log.js';
import { initBackend } from '../src/pipeline/backend.js';
import { cachedActivations } from '../src/pipeline/cache/activations.js';
import { cacheKey, imagesDigest, weightsDigest } from '../src/pipeline/cache/key.js';
import { splitAtFreeze } from '../src/pipeline/cache/split.js';
import { readCifar10 } from '../src/pipeline/data/cifar.js';
import { balancedSplit } from '../src/pipeline/data/sample.js';
import type { ImageSet } from '../src/pipeline/data/types.js';
import { getBackbone } from '../src/pipeline/model/backbones.js';
import { buildClassifier } from '../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../src/pipeline/model/freeze.js';
import { imageBatch } from '../src/pipeline/model/input.js';
import { loadBaseWeights } from '../src/pipeline/model/weights.js';

const argv = process.argv.slice(2);
const opt = (flag: string, fallback: string) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] ?? fallback : fallback;
};
const dataDir = opt('--data_dir', 'bench/.data/cifar10-full');
const weightsPath = opt('--weights', 'bench/.data/vgg16_notop_random.h5');
const perClassText = opt('--samples_per_class', '300');
const perClass = perClassText === 'all' ? 'all' : Number(perClassText);
const retrained = Number(opt('--retrained', '0'));

const rows: [string, number][] = [];
async function step<T>(name: string, f: () => Promise<T> | T): Promise<T> {
  const t0 = performance.now();
  const out = await f();
  rows.push([name, (performance.now() - t0) / 1000]);
  return out;
}

await step('init tfjs-node', () => initBackend('tensorflow'));
const spec = getBackbone('vgg16');
const content = await step('read CIFAR-10', () => readCifar10(dataDir));
const sets = await step('balanced split', () => balancedSplit(content.train, { perClass, validationFraction: 0.2, seed: 42 }));
const model = await step('build classifier', () => buildClassifier(spec, 32, { numClasses: 10, denseUnits: 256, dropout: 0.5, seed: 42 }));
await step('load .h5 weights', () => loadBaseWeights(model, spec, { kind: 'keras-h5', path: weightsPath }));
const plan = planFreeze(spec, retrained);
applyFreeze(model, spec, plan);
const split = splitAtFreeze(model);
if (split === undefined) throw new Error('nothing frozen');
const input = { inputSize: 32, preprocessing: spec.preprocessing };
const weights = await step('weights digest (dataSync + sha256 of the prefix)', () => weightsDigest(split.prefix));
const named: [string, ImageSet][] = [['train', sets.train], ['validation', sets.validation], ['test', content.test]];
const digests = new Map<string, string>();
for (const [name, set] of named) digests.set(name, await step(`images digest ${name} (${set.count})`, () => imagesDigest(set)));
const rowSize = split.featureShape.reduce((a, b) => a * b, 1);

async function forwardOnly(set: ImageSet, batchSize: number): Promise<void> {
  const all = Int32Array.from({ length: set.count }, (_, i) => i);
  for (let start = 0; start < set.count; start += batchSize) {
    const out = tf.tidy(() => {
      const y = split?.prefix.predict(imageBatch(set, all.subarray(start, Math.min(set.count, start + batchSize)), input));
      if (y === undefined || Array.isArray(y)) throw new Error('unexpected output');
      return y;
    });
    await out.data();
    out.dispose();
  }
}
const total = named.reduce((n, [, s]) => n + s.count, 0);
await forwardOnly(sets.validation, 128); // warm up
await step(`forward only, train+val+test (${total}), batch 128`, async () => {
  for (const [, set] of named) await forwardOnly(set, 128);
});

const logger = createLogger({ level: 'warn' });
const base = { dtype: 'float16' as const, memoryBudgetBytes: 2048 * 2 ** 20, maxDiskBytes: 20 * 2 ** 30, batchSize: 128, logger, now: () => Date.now() };
await step(`cachedActivations in memory (no folder), train+val+test`, async () => {
  for (const [name, set] of named) {
    const key = cacheKey({ forward: 'predict', weights, cutAfter: split.cutAfter, input, dtype: 'float16', images: digests.get(name) ?? '' });
    (await cachedActivations(split.prefix, set, input, key, rowSize, { ...base, dir: undefined }))?.store.close();
  }
});
const dir = await mkdtemp(join(tmpdir(), 'tk-profile-cache-'));
await step(`cachedActivations with a cache folder (miss), train+val+test`, async () => {
  for (const [name, set] of named) {
    const key = cacheKey({ forward: 'predict', weights, cutAfter: split.cutAfter, input, dtype: 'float16', images: digests.get(name) ?? '' });
    (await cachedActivations(split.prefix, set, input, key, rowSize, { ...base, dir }))?.store.close();
  }
});
await step(`cachedActivations with a cache folder (hit), train+val+test`, async () => {
  for (const [name, set] of named) {
    const key = cacheKey({ forward: 'predict', weights, cutAfter: split.cutAfter, input, dtype: 'float16', images: digests.get(name) ?? '' });
    (await cachedActivations(split.prefix, set, input, key, rowSize, { ...base, dir }))?.store.close();
  }
});
await rm(dir, { recursive: true, force: true });

for (const [name, seconds] of rows) {
  const ips = name.includes('train+val+test') ? ` (${(total / seconds).toFixed(0)} img/s)` : '';
  process.stdout.write(`${seconds.toFixed(2).padStart(8)} s  ${name}${ips}\n`);
}
model.dispose();
