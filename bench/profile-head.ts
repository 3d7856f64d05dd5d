/**
 * Where a cached run's training time goes: the seed's trainable head (Flatten → Dense(256, relu) →
 * Dropout(0.5) → Dense(10, softmax)) on cached float16 activations of shape [1, 1, 512], batch 32,
 * trained step by step three ways, interleaved in rounds in one process:
 *   before        tfjs-layers' trainOnBatch with tfjs's Adam (transferkit before the lean step)
 *   flat-adam     trainOnBatch with FlatAdam (src/pipeline/train/adam.ts)
 *   dense-step    the lean dense-head step with FlatAdam (src/pipeline/train/dense-step.ts), as fit.ts runs it now
 * Each step includes the batch from the cache (gather + float16 decode) and the read-back of the
 * loss, as in fit.ts. Reports the median ms per step over the rounds, the TensorFlow ops one step
 * dispatches, and writes bench/results/profile-head.{json,md} (--out NAME for another name).
 *
 *   node --import tsx bench/profile-head.ts [--train 2400] [--rounds 5] [--out profile-head]
 */
import { writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/pipeline/backend.js';
import { encodeHalf } from '../src/pipeline/cache/float16.js';
import { MemoryFeatureStore } from '../src/pipeline/cache/store.js';
import { epochOrder } from '../src/pipeline/data/sample.js';
import { headLayers } from '../src/pipeline/model/build.js';
import { setDropoutStep } from '../src/pipeline/model/dropout.js';
import { FlatAdam } from '../src/pipeline/train/adam.js';
import { trainOnBatchStep, type BatchStep } from '../src/pipeline/train/batch-step.js';
import { denseStep } from '../src/pipeline/train/dense-step.js';
import { batchRanges, featureSource } from '../src/pipeline/train/source.js';
import { BENCH, REPO, machine, runText } from './speed-support.js';

const argv = process.argv.slice(2);
const opt = (flag: string, fallback: string) => {
  const i = argv.indexOf(flag);
  return i >= 0 ? (argv[i + 1] ?? fallback) : fallback;
};
const N = Number(opt('--train', '2400'));
const ROUNDS = Number(opt('--rounds', '5'));
const OUT = opt('--out', 'profile-head');
const BATCH = 32;
const ROW = 512;
const CLASSES = 10;

await initBackend('tensorflow');
const values = Float32Array.from({ length: N * ROW }, (_, i) => Math.abs(Math.sin(i * 12.9898)) * 2);
const half = new Uint16Array(values.length);
encodeHalf(values, half);
const source = featureSource(new MemoryFeatureStore(half, N, ROW), Int32Array.from({ length: N }, (_, i) => i % CLASSES), [1, 1, ROW]);

function head(optimizer: tf.Optimizer): tf.LayersModel {
  const input = tf.input({ shape: [1, 1, ROW] });
  let x: tf.SymbolicTensor = input;
  for (const layer of headLayers({ numClasses: CLASSES, denseUnits: 256, dropout: 0.5, seed: 1, head: 'flatten' })) {
    const y = layer.apply(x);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error('symbolic output expected');
    x = y;
  }
  const model = tf.model({ inputs: input, outputs: x });
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

type Way = 'before' | 'flat-adam' | 'dense-step';
const models: Record<Way, tf.LayersModel> = { before: head(tf.train.adam(0.001)), 'flat-adam': head(new FlatAdam(0.001)), 'dense-step': head(new FlatAdam(0.001)) };
const lean = denseStep(models['dense-step'], CLASSES);
if (lean === undefined) throw new Error('the seed head is not a dense chain');
const steps: Record<Way, BatchStep> = { before: trainOnBatchStep(models.before, CLASSES), 'flat-adam': trainOnBatchStep(models['flat-adam'], CLASSES), 'dense-step': lean };

/** One epoch over the cached rows as fit.ts runs it; ms per step. */
async function epoch(way: Way, e: number): Promise<number> {
  const order = epochOrder(N, 42, e);
  const t0 = performance.now();
  let n = 0;
  for (const [start, end] of batchRanges(N, BATCH)) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const indices = order.subarray(start, end);
    setDropoutStep(models[way], e * 1000 + n);
    const x = source.batch(indices);
    await steps[way](x, Int32Array.from(indices, (i) => source.labels[i] ?? 0));
    x.dispose();
    n++;
  }
  return (performance.now() - t0) / n;
}

const ways: readonly Way[] = ['before', 'flat-adam', 'dense-step'];
const loadBefore = loadavg()[0] ?? Number.NaN;
const t0 = performance.now();
for (const way of ways) await epoch(way, 0); // warm-up: slots, kernels
const perRound: Record<Way, number[]> = { before: [], 'flat-adam': [], 'dense-step': [] };
for (let r = 0; r < ROUNDS; r++) {
  // rotate the order, so a burst of others' work does not always hit the same way
  for (let k = 0; k < ways.length; k++) {
    const way = ways[(r + k) % ways.length] ?? 'before';
    perRound[way].push(await epoch(way, r + 1));
  }
}
const x = source.batch(Int32Array.from({ length: BATCH }, (_, i) => i));
const labels = Int32Array.from({ length: BATCH }, (_, i) => i % CLASSES);
const ops: Record<Way, number> = { before: 0, 'flat-adam': 0, 'dense-step': 0 };
for (const way of ways) ops[way] = (await tf.profile(async () => { await steps[way](x, labels); return []; })).kernels.length;
const median = (v: readonly number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
const rows = ways.map((way) => ({ way, median_ms_per_step: median(perRound[way]), rounds_ms_per_step: perRound[way], ops_per_step: ops[way], speedup_vs_before: median(perRound.before) / median(perRound[way]) }));

const commit = (await runText('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'])).trim();
const dirty = (await runText('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bench', ':!bench/results'])).trim() !== '';
const command = `node --import tsx bench/profile-head.ts --train ${N} --rounds ${ROUNDS}${OUT === 'profile-head' ? '' : ` --out ${OUT}`}`;
const result = { command, commit, dirty, date: new Date().toISOString(), seconds: (performance.now() - t0) / 1000, threads_env: process.env['TF_NUM_INTRAOP_THREADS'] ?? 'unset', load_average_1min: { before: loadBefore, after: loadavg()[0] ?? Number.NaN }, machine: await machine({}), train: N, batch: BATCH, rounds: ROUNDS, rows };
await writeFile(join(BENCH, 'results', `${OUT}.json`), `${JSON.stringify(result, null, 2)}\n`);
const md = [
  '# The head\'s training step: trainOnBatch vs the lean dense step',
  '',
  `\`${command}\` at commit \`${commit}\`${dirty ? ' (with uncommitted changes)' : ''}, ${result.date.slice(0, 16)} UTC, ${result.seconds.toFixed(0)} s; ${result.machine.cpus} × ${result.machine.cpu_model} (${result.machine.cpu_flags_simd}), TF_NUM_INTRAOP_THREADS ${result.threads_env}; 1-minute load average ${result.load_average_1min.before.toFixed(2)} before, ${result.load_average_1min.after.toFixed(2)} after (2 cores). The machine may be shared: the three ways ran interleaved in rotating order, and only ratios within this run are compared.`,
  '',
  `The seed's head (Flatten → Dense(256, relu) → Dropout(0.5) → Dense(10, softmax)) on ${N} cached [1, 1, 512] float16 rows, batch ${BATCH}, ${ROUNDS} epochs each after a warm-up epoch; a step includes the batch from the cache and the loss read-back, as in fit.ts.`,
  '',
  '| way | median ms per step | ms per step, each round | TensorFlow ops per step | speed-up vs before |',
  '|---|---:|---|---:|---:|',
  ...rows.map((r) => `| ${r.way} | ${r.median_ms_per_step.toFixed(2)} | ${r.rounds_ms_per_step.map((v) => v.toFixed(2)).join(', ')} | ${r.ops_per_step} | ${r.speedup_vs_before.toFixed(2)}× |`),
  '',
  'before: trainOnBatch with tfjs\'s Adam; flat-adam: trainOnBatch with FlatAdam; dense-step: the lean step with FlatAdam (what a cached run trains with now).',
  '',
].join('\n');
await writeFile(join(BENCH, 'results', `${OUT}.md`), md);
process.stdout.write(md);
