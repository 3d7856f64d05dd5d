/**
 * transferkit's frozen forward alone, as its activation cache runs it (src/pipeline/cache/
 * activations.ts: uint8 batch → imageBatch (gather, caffe preprocessing) → prefix.predict → data()),
 * at several batch sizes. Run as a child by bench/speed.ts so each thread setting gets a fresh
 * process (TensorFlow reads TF_NUM_INTRAOP_THREADS once, when it starts).
 *
 *   node --import tsx bench/tk-forward.ts '<json job>'   → writes job.result (JSON)
 */
import { writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { initBackend } from '../src/pipeline/backend.js';
import { splitAtFreeze } from '../src/pipeline/cache/split.js';
import { getBackbone } from '../src/pipeline/model/backbones.js';
import { buildClassifier } from '../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../src/pipeline/model/freeze.js';
import { imageBatch } from '../src/pipeline/model/input.js';
import { loadBaseWeights } from '../src/pipeline/model/weights.js';
import { syntheticImageSet } from '../test/support/make-datasets.js';

const jobSchema = z.object({
  weights: z.string(),
  retrained: z.number().int().nonnegative(),
  images: z.number().int().positive(),
  batchSizes: z.array(z.number().int().positive()),
  result: z.string(),
});

const job = jobSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
const backend = await initBackend('tensorflow');
const spec = getBackbone('vgg16');
const model = buildClassifier(spec, 32, { numClasses: 10, denseUnits: 256, dropout: 0.5, seed: 42 });
await loadBaseWeights(model, spec, { kind: 'keras-h5', path: job.weights });
const plan = planFreeze(spec, job.retrained);
applyFreeze(model, spec, plan);
const split = splitAtFreeze(model);
if (split === undefined) throw new Error('no frozen prefix to time');
const set = syntheticImageSet({ count: job.images, height: 32, width: 32, channels: 3, numClasses: 10, seed: 5 });
const input = { inputSize: 32, preprocessing: spec.preprocessing };
const all = Int32Array.from({ length: set.count }, (_, i) => i);

async function pass(batchSize: number, count: number): Promise<void> {
  for (let start = 0; start < count; start += batchSize) {
    const end = Math.min(count, start + batchSize);
    const out = tf.tidy(() => {
      const y = split?.prefix.predict(imageBatch(set, all.subarray(start, end), input));
      if (y === undefined || Array.isArray(y)) throw new Error('unexpected prefix output');
      return y;
    });
    await out.data();
    out.dispose();
  }
}

const forward: { batch_size: number; images_per_second: number }[] = [];
for (const batchSize of job.batchSizes) {
  await pass(batchSize, Math.min(set.count, batchSize * 2));
  const t0 = performance.now();
  await pass(batchSize, set.count);
  forward.push({ batch_size: batchSize, images_per_second: set.count / ((performance.now() - t0) / 1000) });
}
await writeFile(
  job.result,
  JSON.stringify({
    tensorflow: backend.tensorflowVersion ?? 'n/a',
    tfjs: backend.tfjsVersion,
    cut_after: split.cutAfter,
    feature_shape: split.featureShape,
    images: set.count,
    forward,
    intra_op_threads_env: process.env['TF_NUM_INTRAOP_THREADS'] ?? 'unset',
  }),
);
model.dispose();
