/**
 * transferkit side of bench/frozen-forward.ts: a long-lived worker answering one line of JSON per
 * command on stdin. The backbone is built at the size asked, loads the Keras-made `.h5` by layer name,
 * every layer frozen, and its forward is compiled three ways (src/pipeline/model/infer): `predict`
 * (the model's own predict, as before), `unfused` (the step executor, nothing folded), `fused`.
 *
 *   {"cmd":"run","backbone","h5","size","images","count","batch","mode"} → images/s of one timed pass
 *   {"cmd":"count","backbone","h5","size","images","count","batch","mode"} → dispatched ops of one batch
 *   {"cmd":"profile",…} → tf.profile of one batch: kernel time (ms) and calls by tfjs kernel name
 *     (a fused conv's time includes the Add and activation it runs inside)
 *   {"cmd":"rss"} → peak RSS so far
 */
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { initBackend } from '../src/pipeline/backend.js';
import { BACKBONES } from '../src/pipeline/model/backbones.js';
import { buildBackbone } from '../src/pipeline/model/build.js';
import { compileFrozenForward, type FrozenForward, type FrozenForwardMode } from '../src/pipeline/model/infer/frozen-forward.js';
import { preprocess } from '../src/pipeline/model/input.js';
import { applyKerasWeights, readKerasWeights } from '../src/pipeline/model/keras-weights.js';

const jobSchema = z.discriminatedUnion('cmd', [
  z.object({
    cmd: z.enum(['run', 'count', 'profile']),
    backbone: z.enum(['mobilenet_v2', 'efficientnet_lite0']),
    h5: z.string(),
    size: z.number().int().positive(),
    images: z.string(),
    count: z.number().int().positive(),
    batch: z.number().int().positive(),
    mode: z.enum(['predict', 'unfused', 'fused']),
  }),
  z.object({ cmd: z.literal('rss') }),
]);
type RunJob = Extract<z.infer<typeof jobSchema>, { cmd: 'run' | 'count' | 'profile' }>;

interface Loaded {
  readonly forwards: Record<FrozenForwardMode, FrozenForward>;
  readonly batches: tf.Tensor[];
}
const loaded = new Map<string, Loaded>();

async function load(job: RunJob): Promise<Loaded> {
  const key = `${job.backbone}@${job.size}`;
  const have = loaded.get(key);
  if (have !== undefined) return have;
  const spec = BACKBONES[job.backbone];
  const model = buildBackbone(spec, job.size, 3);
  const weighted = model.layers.filter((l) => l.weights.length > 0);
  applyKerasWeights(model, await readKerasWeights(job.h5), { layers: weighted.map((l) => l.name), file: job.h5, backbone: job.backbone });
  for (const l of model.layers) l.trainable = false;
  const buf = await readFile(job.images);
  const pixels = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  const batches: tf.Tensor[] = [];
  for (let start = 0; start < job.count; start += job.batch) {
    const n = Math.min(job.batch, job.count - start);
    const per = job.size * job.size * 3;
    batches.push(tf.tidy(() => preprocess(tf.tensor4d(pixels.subarray(start * per, (start + n) * per), [n, job.size, job.size, 3]), spec.preprocessing)));
  }
  const forwards = { predict: compileFrozenForward(model, 'predict'), unfused: compileFrozenForward(model, 'unfused'), fused: compileFrozenForward(model, 'fused') };
  for (const f of Object.values(forwards)) tf.dispose(f.predict(batches[0] ?? tf.zeros([1, job.size, job.size, 3]))); // warm-up, folds
  const made = { forwards, batches };
  loaded.set(key, made);
  return made;
}

async function run(job: RunJob): Promise<unknown> {
  const { forwards, batches } = await load(job);
  const f = forwards[job.mode];
  const t0 = performance.now();
  for (const x of batches) {
    const y = f.predict(x);
    await y.data();
    y.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  return { images_per_second: job.count / seconds, seconds, stats: f.stats };
}

/** TensorFlow ops the native binding executes (executeOp calls) and tfjs kernels (tf.profile) for one batch. */
async function count(job: RunJob): Promise<unknown> {
  const { forwards, batches } = await load(job);
  const f = forwards[job.mode];
  const x = batches[0];
  if (x === undefined) throw new Error('no batch');
  const backend: unknown = tf.backend();
  if (typeof backend !== 'object' || backend === null || !('executeSingleOutput' in backend) || !('executeMultipleOutputs' in backend)) throw new Error('not the tfjs-node backend');
  const single: unknown = backend.executeSingleOutput;
  const multiple: unknown = backend.executeMultipleOutputs;
  if (typeof single !== 'function' || typeof multiple !== 'function') throw new Error('not the tfjs-node backend');
  const ops = new Map<string, number>();
  // every TensorFlow op of a kernel goes through one of these two (they call binding.executeOp)
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- Reflect.apply takes any function
  const counting = (original: Function) => (...args: unknown[]) => {
    const name = String(args[0]);
    ops.set(name, (ops.get(name) ?? 0) + 1);
    return Reflect.apply(original, backend, args);
  };
  Object.assign(backend, { executeSingleOutput: counting(single), executeMultipleOutputs: counting(multiple) });
  let kernels: string[] = [];
  try {
    const info = await tf.profile(() => f.predict(x));
    kernels = info.kernels.map((k) => k.name);
    tf.dispose(info.result);
  } finally {
    Reflect.deleteProperty(backend, 'executeSingleOutput');
    Reflect.deleteProperty(backend, 'executeMultipleOutputs');
  }
  const byName = (names: Iterable<[string, number]>) => Object.fromEntries([...names].sort((a, b) => b[1] - a[1]));
  const kernelCounts = new Map<string, number>();
  for (const k of kernels) kernelCounts.set(k, (kernelCounts.get(k) ?? 0) + 1);
  return {
    batch: x.shape[0],
    native_ops: [...ops.values()].reduce((a, b) => a + b, 0),
    native_by_op: byName(ops),
    tfjs_kernels: kernels.length,
    tfjs_by_kernel: byName(kernelCounts),
    stats: f.stats,
  };
}

async function profile(job: RunJob): Promise<unknown> {
  const { forwards, batches } = await load(job);
  const x = batches[0];
  if (x === undefined) throw new Error('no batch');
  const t0 = performance.now();
  const info = await tf.profile(() => forwards[job.mode].predict(x));
  const wallMs = performance.now() - t0;
  tf.dispose(info.result);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : Number.NaN;
    const have = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    byKernel.set(k.name, { ms: have.ms + ms, calls: have.calls + 1 });
  }
  return { batch: x.shape[0], wall_ms: wallMs, kernels: Object.fromEntries([...byKernel].sort((a, b) => b[1].ms - a[1].ms)) };
}

function peakRssMb(status: string): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(status);
  return m?.[1] === undefined ? Number.NaN : Number(m[1]) / 1024;
}

const backend = await initBackend('tensorflow');
process.stdout.write(`${JSON.stringify({ ready: true, tensorflow: backend.tensorflowVersion ?? 'n/a', tfjs: backend.tfjsVersion })}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const job = jobSchema.parse(JSON.parse(line));
  const out = job.cmd === 'rss' ? { peak_rss_mb: peakRssMb(await readFile('/proc/self/status', 'utf8')) } : job.cmd === 'run' ? await run(job) : job.cmd === 'count' ? await count(job) : await profile(job);
  process.stdout.write(`${JSON.stringify(out)}\n`);
}
