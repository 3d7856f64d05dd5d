/**
 * Where a cached run's training time goes: the trainable head (Flatten → Dense(256, relu) →
 * Dropout → Dense(10, softmax)) trained on cached float16 activations of shape [1, 1, 512], batch
 * 32, step by step as src/pipeline/train/fit.ts does it (featureSource batch → oneHot →
 * model.trainOnBatch → loss/accuracy read back → setImmediate yield), against the same step written
 * directly with optimizer.minimize (no tfjs-layers training loop, one read-back per step).
 *
 *   node --import tsx bench/profile-head.ts [--train 2400] [--epochs 5]
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/pipeline/backend.js';
import { encodeHalf } from '../src/pipeline/cache/float16.js';
import { MemoryFeatureStore } from '../src/pipeline/cache/store.js';
import { epochOrder } from '../src/pipeline/data/sample.js';
import { headLayers } from '../src/pipeline/model/build.js';
import { batchRanges, featureSource } from '../src/pipeline/train/source.js';

const argv = process.argv.slice(2);
const opt = (flag: string, fallback: number) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? Number(argv[i + 1] ?? fallback) : fallback;
};
const N = opt('--train', 2400);
const EPOCHS = opt('--epochs', 5);
const BATCH = 32;
const ROW = 512;

await initBackend('tensorflow');
const values = Float32Array.from({ length: N * ROW }, (_, i) => Math.abs(Math.sin(i * 12.9898)) * 2);
const half = new Uint16Array(values.length);
encodeHalf(values, half);
const store = new MemoryFeatureStore(half, N, ROW);
const labels = Int32Array.from({ length: N }, (_, i) => i % 10);
const source = featureSource(store, labels, [1, 1, ROW]);

function head(): tf.LayersModel {
  const input = tf.input({ shape: [1, 1, ROW] });
  let x: tf.SymbolicTensor = input;
  for (const layer of headLayers({ numClasses: 10, denseUnits: 256, dropout: 0.5, seed: 1, head: 'flatten' })) {
    const y = layer.apply(x);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error('symbolic output expected');
    x = y;
  }
  const model = tf.model({ inputs: input, outputs: x });
  model.compile({ optimizer: tf.train.adam(0.001), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));
const totals = { batch: 0, trainOnBatch: 0, yield: 0, steps: 0 };
const model = head();
const t0 = performance.now();
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = epochOrder(N, 42, epoch);
  for (const [start, end] of batchRanges(N, BATCH)) {
    let t = performance.now();
    await yieldToEventLoop();
    totals.yield += performance.now() - t;
    t = performance.now();
    const indices = order.subarray(start, end);
    const x = source.batch(indices);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(indices, (i) => labels[i] ?? 0), 'int32'), 10));
    totals.batch += performance.now() - t;
    t = performance.now();
    await model.trainOnBatch(x, y);
    totals.trainOnBatch += performance.now() - t;
    x.dispose();
    y.dispose();
    totals.steps++;
  }
}
const loopMs = performance.now() - t0;

// The same step without tfjs-layers' training machinery: one fused closure, one read-back.
const direct = head();
const optimizer = tf.train.adam(0.001);
const t1 = performance.now();
let steps = 0;
for (let epoch = 0; epoch < EPOCHS; epoch++) {
  const order = epochOrder(N, 42, epoch);
  for (const [start, end] of batchRanges(N, BATCH)) {
    const indices = order.subarray(start, end);
    const x = source.batch(indices);
    const y = tf.tidy(() => tf.oneHot(tf.tensor1d(Int32Array.from(indices, (i) => labels[i] ?? 0), 'int32'), 10));
    const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(y, direct.apply(x, { training: true }) as tf.Tensor), true);
    await loss?.data();
    loss?.dispose();
    x.dispose();
    y.dispose();
    steps++;
  }
}
const directMs = performance.now() - t1;

// How many TensorFlow ops one step dispatches (each one a separate eager call into libtensorflow).
const px = source.batch(Int32Array.from({ length: BATCH }, (_, i) => i));
const py = tf.oneHot(tf.tensor1d(labels.subarray(0, BATCH), 'int32'), 10);
const stepProfile = await tf.profile(async () => {
  await model.trainOnBatch(px, py);
  return [];
});
const kernelNames = new Map<string, number>();
for (const k of stepProfile.kernels) kernelNames.set(k.name, (kernelNames.get(k.name) ?? 0) + 1);
const top = [...kernelNames.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([n, c]) => `${n}×${c}`).join(', ');

const per = (ms: number, n: number) => `${(ms / n).toFixed(2)} ms/step`;
process.stdout.write(
  [
    `head training, ${N} examples × ${EPOCHS} epochs, batch ${BATCH} (${totals.steps} steps)`,
    `  as fit.ts does it:        ${(loopMs / 1000).toFixed(2)} s = ${per(loopMs, totals.steps)}`,
    `    batch from cache (gather + float16 decode + tensor + oneHot): ${per(totals.batch, totals.steps)}`,
    `    model.trainOnBatch (incl. 2 loss/metric read-backs):          ${per(totals.trainOnBatch, totals.steps)}`,
    `    setImmediate yield:                                            ${per(totals.yield, totals.steps)}`,
    `  optimizer.minimize directly: ${(directMs / 1000).toFixed(2)} s = ${per(directMs, steps)}`,
    `  one trainOnBatch step dispatches ${stepProfile.kernels.length} TensorFlow ops (${top}, …)`,
    `  → ${((totals.trainOnBatch / totals.steps / stepProfile.kernels.length) * 1000).toFixed(0)} µs per op on average`,
    '',
  ].join('\n'),
);
