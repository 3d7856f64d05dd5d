/**
 * Training every layer, transferkit vs Keras: the seed's small MNIST CNN (`small-cnn`, random
 * weights, `retrained_conv_layers all`) on Debian's Fashion-MNIST classes 0-4, all their training
 * images (24,000 train + 6,000 validation after transferkit's split), batch 32, one epoch, then the
 * test set (5,000). Nothing is frozen, so transferkit's activation cache does not apply: this is
 * the per-step cost of a whole conv net, forward and backward, against Keras's compiled step.
 *
 *   node --import tsx bench/small-cnn.ts [--quick] [--rounds 3] [--epochs 1] [--no-build] [--out NAME]
 *
 * Each round runs `keras` (bench/small_cnn_keras.py) and `tk` (node dist/entry/cli.js train …,
 * TRANSFERKIT_TRACKING=off) as separate measured processes (wall, peak RSS by GNU time, CPU taken by
 * others), in alternating order. Both read the same images (transferkit's own split written as raw
 * bytes for Keras, sha256-checked). `--quick`: the first 3,000 training and 1,000 test images.
 * Writes bench/results/NAME.json and .md (small-cnn, or small-cnn-quick with --quick).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { balancedSplit, loadDataset, parseClassSpec, selectClasses } from '../src/pipeline/data/index.js';
import { BENCH, CLI, cliArgs, PYTHON, REPO, childEnv, dataRoot, buildDistIfStale, machine, runMeasured, runText, waitForIdle, writeIdxSubset, type Measured } from './speed-support.js';

const argv = process.argv.slice(2);
const { flag, value } = cliArgs(argv);
const QUICK = flag('--quick');
const options = z
  .object({ rounds: z.coerce.number().int().min(1), epochs: z.coerce.number().int().min(1), out: z.string().regex(/^[\w.-]+$/) })
  .parse({ rounds: value('--rounds') ?? (QUICK ? '1' : '3'), epochs: value('--epochs') ?? '1', out: value('--out') ?? (QUICK ? 'small-cnn-quick' : 'small-cnn') });
const POOL = QUICK ? { train: 3000, test: 1000 } : { train: 60000, test: 10000 };
const CLASSES = '0-4';
const SETTINGS = { seed: 42, batch_size: 32, learning_rate: 0.001, dense_units: 256, dropout: 0.5, validation_fraction: 0.2, epochs: options.epochs, classes: CLASSES, early_stopping: false };
const log = (s: string) => process.stderr.write(`[small-cnn] ${s}\n`);
const t0 = performance.now();

if (!flag('--no-build')) await buildDistIfStale(log);

// --- inputs: transferkit's own class selection and split, written as raw bytes for Keras ---------

const root = join(await dataRoot(), 'small-cnn');
const silent = pino({ level: 'silent' });
const full = await loadDataset({ name: 'fashion-mnist', cacheDir: join(root, 'download'), fetch, logger: silent });
const dataDir = join(root, `fashion-${POOL.train}-${POOL.test}`);
if (!existsSync(join(dataDir, 't10k-labels-idx1-ubyte.gz'))) await writeIdxSubset(dataDir, full, POOL.train, POOL.test);
const loaded = await loadDataset({ name: 'fashion-mnist', dataDir, cacheDir: join(root, 'download'), fetch, logger: silent });
const classIds = parseClassSpec(CLASSES, loaded.classNames);
const { train, validation } = balancedSplit(selectClasses(loaded.train, classIds), { perClass: 'all', validationFraction: SETTINGS.validation_fraction, seed: SETTINGS.seed });
const test = selectClasses(loaded.test, classIds);
const splitDir = join(dataDir, `split-${CLASSES}-${SETTINGS.seed}`);
await mkdir(splitDir, { recursive: true });
const sha256: Record<string, string> = {};
for (const [name, set] of [['train', train], ['validation', validation], ['test', test]] as const) {
  await writeFile(join(splitDir, `${name}.u8`), set.images);
  await writeFile(join(splitDir, `${name}.labels`), Uint8Array.from(set.labels));
  sha256[name] = createHash('sha256').update(set.images).digest('hex');
}
const counts = { train: train.count, validation: validation.count, test: test.count };
log(`Fashion-MNIST classes ${CLASSES}: ${counts.train} train / ${counts.validation} validation / ${counts.test} test`);

// --- runs -------------------------------------------------------------------------------------

const work = await mkdtemp(join(root, 'run-'));
type Method = 'keras' | 'tk';
interface Run {
  readonly method: Method;
  readonly round: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly wall_seconds: number;
  readonly peak_rss_mb: number;
  readonly cpu_seconds: number;
  readonly contention: number;
  readonly fit_seconds?: number;
  readonly epoch_seconds?: readonly number[];
  readonly test_accuracy?: number;
}
const measured = (r: Measured) => ({ wall_seconds: r.wallSeconds, peak_rss_mb: r.peakRssMB, cpu_seconds: r.cpuSeconds, contention: r.contention });
const kerasSchema = z.object({ keras: z.string(), tensorflow: z.string(), digests: z.record(z.string(), z.string()), epoch_seconds: z.array(z.number()), test_accuracy: z.number(), seconds: z.object({ fit: z.number() }) });
const tkSchema = z.object({ epochs: z.array(z.object({ epoch_seconds: z.number() })), test: z.object({ accuracy: z.number(), count: z.number() }), trainSeconds: z.number() });
let versions: { python_keras: string; python_tensorflow: string } | undefined;

async function runKeras(round: number): Promise<Run> {
  const result = join(work, `keras-${round}.json`);
  const job = { data: splitDir, counts, classes: classIds.length, epochs: SETTINGS.epochs, batch: SETTINGS.batch_size, lr: SETTINGS.learning_rate, dense_units: SETTINGS.dense_units, dropout: SETTINGS.dropout, seed: SETTINGS.seed, result };
  const r = await runMeasured(PYTHON, [join(BENCH, 'small_cnn_keras.py'), JSON.stringify(job)], childEnv());
  if (r.exitCode !== 0) return { method: 'keras', round, ok: false, error: r.stderr.slice(-3000), ...measured(r) };
  const k = kerasSchema.parse(JSON.parse(await readFile(result, 'utf8')));
  versions = { python_keras: k.keras, python_tensorflow: k.tensorflow };
  if (!['train', 'validation', 'test'].every((n) => k.digests[n] === sha256[n])) throw new Error(`Keras read other images than the harness wrote: ${JSON.stringify(k.digests)}`);
  return { method: 'keras', round, ok: true, ...measured(r), fit_seconds: k.seconds.fit, epoch_seconds: k.epoch_seconds, test_accuracy: k.test_accuracy };
}

async function runTk(round: number): Promise<Run> {
  const out = join(work, `tk-${round}`);
  const s = SETTINGS;
  const args = [
    CLI, 'train', '--dataset', 'fashion-mnist', '--data_dir', dataDir, '--classes', CLASSES, '--backbone', 'small-cnn', '--weights', 'none',
    '--retrained_conv_layers', 'all', '--head', 'flatten', '--head_solver', 'adam', '--samples_per_class', 'all', '--validation_fraction', String(s.validation_fraction),
    '--max_epochs', String(s.epochs), '--use_early_stop', '0', '--batch_size', String(s.batch_size), '--learning_rate', String(s.learning_rate),
    '--dense_units', String(s.dense_units), '--dropout', String(s.dropout), '--seed', String(s.seed), '--activation_cache', 'off', '--output_dir', out, '--log_format', 'json',
  ];
  const r = await runMeasured(process.execPath, args, childEnv({ TRANSFERKIT_TRACKING: 'off' }));
  if (r.exitCode !== 0) return { method: 'tk', round, ok: false, error: r.stderr.slice(-3000), ...measured(r) };
  const m = tkSchema.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
  if (m.test.count !== counts.test) throw new Error(`transferkit tested ${m.test.count} images, the split has ${counts.test}`);
  return { method: 'tk', round, ok: true, ...measured(r), fit_seconds: m.trainSeconds, epoch_seconds: m.epochs.map((e) => e.epoch_seconds), test_accuracy: m.test.accuracy };
}

const runs: Run[] = [];
for (let round = 1; round <= options.rounds; round++) {
  const order: Method[] = round % 2 === 1 ? ['keras', 'tk'] : ['tk', 'keras'];
  for (const method of order) {
    await waitForIdle(60, 0.15, log);
    log(`round ${round}: ${method} …`);
    const r = method === 'keras' ? await runKeras(round) : await runTk(round);
    runs.push(r);
    log(r.ok ? `  wall ${r.wall_seconds.toFixed(1)} s, fit ${r.fit_seconds?.toFixed(1)} s, RSS ${r.peak_rss_mb.toFixed(0)} MB, test acc ${r.test_accuracy?.toFixed(4)}, others ${(r.contention * 100).toFixed(0)}%` : `  FAILED: ${r.error?.split('\n').slice(-6).join('\n')}`);
  }
}

// --- report -----------------------------------------------------------------------------------

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? Number.NaN : s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};
const pairRatios = (pick: (r: Run) => number | undefined) =>
  Array.from({ length: options.rounds }, (_, i) => {
    const k = runs.find((r) => r.round === i + 1 && r.method === 'keras' && r.ok);
    const t = runs.find((r) => r.round === i + 1 && r.method === 'tk' && r.ok);
    const a = k === undefined ? undefined : pick(k);
    const b = t === undefined ? undefined : pick(t);
    return a === undefined || b === undefined || !(b > 0) ? Number.NaN : a / b;
  }).filter(Number.isFinite);
const summary = {
  keras_over_tk_wall: median(pairRatios((r) => r.wall_seconds)),
  keras_over_tk_fit: median(pairRatios((r) => r.fit_seconds)),
  per_round_wall: pairRatios((r) => r.wall_seconds),
  per_round_fit: pairRatios((r) => r.fit_seconds),
};
const git = async (...a: string[]) => (await runText('git', ['-C', REPO, ...a])).trim();
const dirty = (await git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench', ':!bench/results')) !== '';
const commit = `${await git('rev-parse', '--short', 'HEAD')}${dirty ? '+uncommitted' : ''}`;
const command = `node --import tsx bench/small-cnn.ts ${argv.join(' ')}`.trim();
const mach = await machine(versions ?? {});
const minutes = (performance.now() - t0) / 60000;
const out = { command, commit, date: new Date().toISOString(), minutes, quick: QUICK, machine: mach, settings: SETTINGS, counts, sha256, summary, runs };
await writeFile(join(BENCH, 'results', `${options.out}.json`), `${JSON.stringify(out, null, 2)}\n`);

const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(d));
const md = [
  `# Training every layer: transferkit vs Keras, small CNN (${options.out})`,
  '',
  `\`${command}\` at commit \`${commit}\`, ${out.date.slice(0, 16)} UTC, ${minutes.toFixed(1)} min. ${mach.cpu_model}, ${mach.cpus} CPUs (${mach.cpu_flags_simd}), ${mach.ram_gb} GB RAM; Node ${mach.node}; Python TensorFlow ${mach.python_tensorflow ?? '?'} / Keras ${mach.python_keras ?? '?'}.`,
  '',
  `The seed's small CNN (two 3×3 conv layers of 32, 2×2 max pool, Flatten → Dense(${SETTINGS.dense_units}, relu) → Dropout(${SETTINGS.dropout}) → Dense(5, softmax)) from random weights, every layer trained; Debian's Fashion-MNIST classes ${CLASSES}: ${counts.train} train / ${counts.validation} validation / ${counts.test} test (transferkit's split; the same images on both sides, sha256-checked), 28×28 gray as RGB in [0, 1], Adam ${SETTINGS.learning_rate}, batch ${SETTINGS.batch_size}, ${SETTINGS.epochs} epoch(s), validation every epoch, then the test set. ${options.rounds} round(s), the two sides in alternating order. Wall = process start to exit; fit = training with its validation passes (Keras: around \`model.fit\`; transferkit: \`trainSeconds\` of metrics.json); peak RSS = GNU time %M.`,
  '',
  `**Keras ÷ transferkit, median of the rounds: wall ${f(summary.keras_over_tk_wall, 2)}×, fit ${f(summary.keras_over_tk_fit, 2)}×** (above 1: transferkit is faster).`,
  '',
  '| round | method | wall s | fit s | s/epoch | peak RSS MB | test acc | CPU taken by others |',
  '|---:|---|---:|---:|---:|---:|---:|---:|',
  ...runs.map((r) => r.ok
    ? `| ${r.round} | ${r.method} | ${f(r.wall_seconds)} | ${f(r.fit_seconds, 2)} | ${f(median(r.epoch_seconds ?? []), 2)} | ${r.peak_rss_mb.toFixed(0)} | ${f(r.test_accuracy, 4)} | ${(r.contention * 100).toFixed(0)}% |`
    : `| ${r.round} | ${r.method} | FAILED | | | | | ${(r.contention * 100).toFixed(0)}% |`),
  '',
];
await writeFile(join(BENCH, 'results', `${options.out}.md`), md.join('\n'));
log(`wrote bench/results/${options.out}.json and .md (${minutes.toFixed(1)} min)`);
if (!flag('--keep')) await rm(work, { recursive: true, force: true });
