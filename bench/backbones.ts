/**
 * The graph backbones end to end, transferkit vs the same job written the plain Keras way: for each
 * backbone (mobilenet_v2, efficientnet_b0) × input size (96, 224) × workload
 *   frozen      retrained_blocks 0: every backbone layer frozen (transferkit: activation cache on)
 *   last-stage  retrained_blocks 1: the registry's last block (`top`) trains (transferkit: cache auto)
 * it runs, each as its own measured process (wall, peak RSS by GNU time, CPU taken by others):
 *   keras     bench/backbones_keras.py train: keras.applications.X(include_top=False, weights=<h5>),
 *             frozen as above, base(training=False), GAP → Dense → Dropout → Dense, model.fit on the
 *             whole arrays (the base's forward every epoch), model.evaluate on the test set
 *   tk-cold   node dist/entry/cli.js train …, TRANSFERKIT_TRACKING=off, an empty --cache_dir
 *   tk-warm   the same cache folder again with another learning rate (a cache hit; --no-warm: skipped)
 * Both sides get the same weights file (a Keras-made random-weights notop .h5 in the legacy layout,
 * frozen_forward_keras.make), the same images (Debian's Fashion-MNIST: the first 6,000 training images
 * and the first N test images, split by transferkit's balancedSplit), the same head, Adam, batch 32,
 * epochs and no early stopping.
 *
 *   node --import tsx bench/backbones.ts [--quick] [--backbones mobilenet_v2,efficientnet_b0] [--sizes 96,224]
 *        [--workloads frozen,last-stage] [--per-class 96:60,224:20] [--test 96:600,224:200] [--epochs 5]
 *        [--no-warm] [--keep] [--no-build] [--out NAME]
 *
 * Writes bench/results/NAME.json and .md (backbones, or backbones-quick with --quick).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { loadDataset } from '../src/pipeline/data/registry.js';
import { balancedSplit } from '../src/pipeline/data/sample.js';
import { BACKBONES } from '../src/pipeline/model/backbones.js';
import { METHODS, parseOptions, ratioTable, runTable, type BenchBackbone, type ConfigResult, type Method, type RunResult, type Workload } from './backbones-support.js';
import { BENCH, CLI, PYTHON, REPO, childEnv, dataRoot, buildDistIfStale, jsonLogLines, machine, runMeasured, runText, writeIdxSubset } from './speed-support.js';

const argv = process.argv.slice(2);
const opts = parseOptions(argv);
const SEED = 42;
const BATCH = 32;
const LR = 0.001;
const WARM_LR = 0.0005;
const DENSE = 256;
const DROPOUT = 0.5;
const VALIDATION = 0.2;
const POOL = 6000;
const log = (s: string) => process.stderr.write(`[backbones] ${s}\n`);

if (!opts.noBuild) await buildDistIfStale(log);
const root = join(await dataRoot(), 'backbones');
await mkdir(root, { recursive: true });
const work = await mkdtemp(join(root, 'run-'));
const silent = pino({ level: 'silent' });
const t0 = performance.now();

// --- inputs -----------------------------------------------------------------------------------

const full = await loadDataset({ name: 'fashion-mnist', cacheDir: join(root, 'download'), fetch, logger: silent });

interface Split { readonly dataDir: string; readonly splitDir: string; readonly counts: { train: number; validation: number; test: number }; readonly sha256: Record<string, string> }

/** The data folder transferkit reads (IDX, first POOL train and `test` test images) and the split Keras reads. */
async function inputs(perClass: number, test: number): Promise<Split> {
  const dataDir = join(root, `fashion-${POOL}-${test}`);
  if (!existsSync(join(dataDir, 't10k-labels-idx1-ubyte.gz'))) await writeIdxSubset(dataDir, full, POOL, test);
  // what transferkit's CLI does with --data_dir dataDir --samples_per_class perClass
  const loaded = await loadDataset({ name: 'fashion-mnist', dataDir, cacheDir: join(root, 'download'), fetch, logger: silent });
  const { train, validation } = balancedSplit(loaded.train, { perClass, validationFraction: VALIDATION, seed: SEED });
  const splitDir = join(dataDir, `split-${perClass}-${SEED}`);
  await mkdir(splitDir, { recursive: true });
  const sha256: Record<string, string> = {};
  for (const [name, set] of [['train', train], ['validation', validation], ['test', loaded.test]] as const) {
    await writeFile(join(splitDir, `${name}.u8`), set.images);
    await writeFile(join(splitDir, `${name}.labels`), Uint8Array.from(set.labels));
    sha256[name] = createHash('sha256').update(set.images).digest('hex');
  }
  return { dataDir, splitDir, counts: { train: train.count, validation: validation.count, test: loaded.test.count }, sha256 };
}

const CALIBRATION = { from: POOL, count: 64 };

/**
 * The random-weights notop .h5 of a backbone, made by Keras once (frozen_forward_keras.make), its
 * BatchNorm statistics calibrated on CALIBRATION.count training images outside the pool.
 */
async function weightsFile(backbone: BenchBackbone): Promise<string> {
  const path = join(root, `${backbone}-random-notop.h5`);
  const marker = `${path}.made.json`;
  const want = JSON.stringify({ seed: 7, generator: 'bench/frozen_forward_keras.py make', calibration: CALIBRATION });
  if (existsSync(path) && existsSync(marker) && (await readFile(marker, 'utf8')) === want) return path;
  const pixels = full.train.height * full.train.width;
  const images = join(root, `calibration-${CALIBRATION.from}-${CALIBRATION.count}.u8`);
  await writeFile(images, full.train.images.subarray(CALIBRATION.from * pixels, (CALIBRATION.from + CALIBRATION.count) * pixels));
  const job = { backbone, h5: path, seed: 7, calibrate: { images, count: CALIBRATION.count } };
  const res = await runMeasured(PYTHON, [join(BENCH, 'backbones_keras.py'), 'make', JSON.stringify(job)], childEnv());
  if (res.exitCode !== 0) throw new Error(`backbones_keras.py make ${backbone} failed:\n${res.stderr.slice(-3000)}`);
  await writeFile(marker, want);
  return path;
}

// --- runs -------------------------------------------------------------------------------------

interface Config { readonly backbone: BenchBackbone; readonly size: number; readonly workload: Workload; readonly h5: string; readonly split: Split; readonly perClass: number }

const kerasSchema = z.object({
  keras: z.string(), tensorflow: z.string(), trainable_parameters: z.number(), digests: z.record(z.string(), z.string()),
  epoch_seconds: z.array(z.number()), test_accuracy: z.number(),
  seconds: z.object({ import: z.number(), data: z.number(), model: z.number(), fit: z.number(), evaluate: z.number(), in_process: z.number() }),
});
const tkMetricsSchema = z.object({ epochs: z.array(z.object({ epoch_seconds: z.number() })), test: z.object({ accuracy: z.number(), count: z.number() }), trainSeconds: z.number() });
const cacheLineSchema = z.looseObject({ msg: z.literal('activation cache ready'), status: z.string(), seconds: z.number(), cut_after: z.string() });
let versions: { keras: string; tensorflow: string } | undefined;

type Extra = Record<string, unknown>;
const measuredFields = (r: Awaited<ReturnType<typeof runMeasured>>) => ({ wall_seconds: r.wallSeconds, peak_rss_mb: r.peakRssMB, cpu_seconds: r.cpuSeconds, contention: r.contention });
const failed = (method: Method, r: Awaited<ReturnType<typeof runMeasured>>): RunResult & Extra => ({ method, ok: false, error: r.stderr.slice(-3000), ...measuredFields(r) });

async function runKeras(c: Config): Promise<RunResult & Extra> {
  const spec = BACKBONES[c.backbone];
  const result = join(work, `keras-${c.backbone}-${c.size}-${c.workload}.json`);
  const job = {
    backbone: c.backbone, h5: c.h5, size: c.size, data: c.split.splitDir, counts: c.split.counts, classes: 10, epochs: opts.epochs, batch: BATCH, lr: LR,
    dense_units: DENSE, dropout: DROPOUT, seed: SEED, trainable_after: c.workload === 'frozen' ? null : (spec.blocks.at(-2)?.end ?? null), result,
  };
  const r = await runMeasured(PYTHON, [join(BENCH, 'backbones_keras.py'), 'train', JSON.stringify(job)], childEnv());
  if (r.exitCode !== 0) return failed('keras', r);
  const k = kerasSchema.parse(JSON.parse(await readFile(result, 'utf8')));
  versions = { keras: k.keras, tensorflow: k.tensorflow };
  const same = ['train', 'validation', 'test'].every((n) => k.digests[n] === c.split.sha256[n]);
  if (!same) throw new Error(`Keras read other images than the harness wrote: ${JSON.stringify(k.digests)} vs ${JSON.stringify(c.split.sha256)}`);
  return {
    method: 'keras', ok: true, ...measuredFields(r), fit_seconds: k.seconds.fit, test_accuracy: k.test_accuracy,
    epoch_seconds: k.epoch_seconds, trainable_parameters: k.trainable_parameters, trainable_after: job.trainable_after, phases: k.seconds,
  };
}

async function runTk(c: Config, method: Exclude<Method, 'keras'>, cacheDir: string): Promise<RunResult & Extra> {
  const out = join(work, `${method}-${c.backbone}-${c.size}-${c.workload}`);
  const args = [
    CLI, 'train', '--dataset', 'fashion-mnist', '--data_dir', c.split.dataDir, '--backbone', c.backbone, '--weights', c.h5, '--input_size', String(c.size),
    '--retrained_blocks', c.workload === 'frozen' ? '0' : '1', '--head', 'pooled', '--head_solver', 'adam', '--samples_per_class', String(c.perClass), '--validation_fraction', String(VALIDATION),
    '--max_epochs', String(opts.epochs), '--use_early_stop', '0', '--batch_size', String(BATCH), '--learning_rate', String(method === 'tk-warm' ? WARM_LR : LR),
    '--dense_units', String(DENSE), '--dropout', String(DROPOUT), '--seed', String(SEED), '--output_dir', out, '--cache_dir', cacheDir,
    '--activation_cache', c.workload === 'frozen' ? 'on' : 'auto', '--log_format', 'json',
  ];
  const r = await runMeasured(process.execPath, args, childEnv({ TRANSFERKIT_TRACKING: 'off' }));
  if (r.exitCode !== 0) return failed(method, r);
  const m = tkMetricsSchema.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
  if (m.test.count !== c.split.counts.test) throw new Error(`transferkit tested ${m.test.count} images, the split has ${c.split.counts.test}`);
  const cache = jsonLogLines(r.stderr, cacheLineSchema)[0];
  return {
    method, ok: true, ...measuredFields(r), fit_seconds: m.trainSeconds, test_accuracy: m.test.accuracy, epoch_seconds: m.epochs.map((e) => e.epoch_seconds),
    ...(cache === undefined ? {} : { cache: { status: cache.status, seconds: cache.seconds }, cache_cut_after: cache.cut_after }),
  };
}

const results: Array<ConfigResult & { counts: Split['counts']; per_class: number; sha256: Record<string, string>; runs: Array<RunResult & Extra> }> = [];
const weights: Record<string, string> = {};
for (const backbone of opts.backbones) {
  const h5 = await weightsFile(backbone);
  weights[backbone] = relative(REPO, h5);
  for (const size of opts.sizes) {
    const perClass = opts.perClass.get(size) ?? 0;
    const split = await inputs(perClass, opts.test.get(size) ?? 0);
    for (const workload of opts.workloads) {
      const c: Config = { backbone, size, workload, h5, split, perClass };
      const cacheDir = join(work, `cache-${backbone}-${size}-${workload}`);
      const runs: Array<RunResult & Extra> = [];
      for (const method of METHODS) {
        if (method === 'tk-warm' && !opts.warm) continue;
        log(`${backbone} @ ${size}px, ${workload}: ${method} …`);
        const r = method === 'keras' ? await runKeras(c) : await runTk(c, method, cacheDir);
        runs.push(r);
        log(r.ok
          ? `  wall ${r.wall_seconds.toFixed(1)} s, fit ${r.fit_seconds?.toFixed(1) ?? '–'} s, RSS ${r.peak_rss_mb.toFixed(0)} MB, test acc ${r.test_accuracy?.toFixed(4) ?? '–'}, others ${(r.contention * 100).toFixed(0)}%${r.cache === undefined ? '' : `, cache ${r.cache.status} ${r.cache.seconds.toFixed(1)} s`}`
          : `  FAILED: ${r.error?.split('\n').slice(-6).join('\n')}`);
      }
      results.push({ backbone, size, workload, counts: split.counts, per_class: perClass, sha256: split.sha256, runs });
    }
  }
}

// --- report -----------------------------------------------------------------------------------

const git = async (...a: string[]) => (await runText('git', ['-C', REPO, ...a])).trim();
const dirty = (await git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench', ':!bench/results')) !== '';
const commit = `${await git('rev-parse', '--short', 'HEAD')}${dirty ? '+uncommitted' : ''}`;
const command = `node --import tsx bench/backbones.ts ${argv.join(' ')}`.trim();
const tfjsNode = z.object({ version: z.string() }).parse(JSON.parse(await readFile(join(REPO, 'node_modules', '@tensorflow', 'tfjs-node', 'package.json'), 'utf8')));
const mach = await machine({ tfjs: tfjsNode.version, ...(versions === undefined ? {} : { python_tensorflow: versions.tensorflow, python_keras: versions.keras }) });
const minutes = (performance.now() - t0) / 60000;
const note = 'Measured while another long benchmark used the same 2 cores (see "CPU taken by others"): absolute times are inflated and noisy; compare ratios within one configuration and peak RSS only.';
const settings = { calibration: CALIBRATION, seed: SEED, batch_size: BATCH, learning_rate: LR, warm_learning_rate: WARM_LR, dense_units: DENSE, dropout: DROPOUT, validation_fraction: VALIDATION, epochs: opts.epochs, early_stopping: false, train_pool: POOL };
const out = { command, commit, date: new Date().toISOString(), minutes, quick: opts.quick, note, machine: mach, settings, weights, results };
await writeFile(join(BENCH, 'results', `${opts.out}.json`), `${JSON.stringify(out, null, 2)}\n`);

const counts = results.filter((r, i, all) => all.findIndex((x) => x.size === r.size) === i).map((r) => `${r.size} px: ${r.counts.train} train / ${r.counts.validation} validation / ${r.counts.test} test (${r.per_class} per class)`);
const md = [
  `# Graph backbones end to end: transferkit vs plain Keras (${opts.out})`,
  '',
  `\`${command}\` at commit \`${commit}\`, ${out.date.slice(0, 16)} UTC, ${minutes.toFixed(1)} min. ${mach.cpu_model}, ${mach.cpus} CPUs (${mach.cpu_flags_simd}), ${mach.ram_gb} GB RAM; Node ${mach.node}, tfjs-node ${mach.tfjs ?? '?'}; Python TensorFlow ${mach.python_tensorflow ?? '?'} / Keras ${mach.python_keras ?? '?'}.`,
  '',
  `**${note}**`,
  '',
  `Both sides: the same random-weights notop \`.h5\` per backbone (made by Keras, legacy layout, BatchNorm statistics calibrated on ${CALIBRATION.count} other training images and perturbed), Debian's Fashion-MNIST (${counts.join('; ')}; the same images, sha256-checked), pooled head GAP → Dense(${DENSE}, relu) → Dropout(${DROPOUT}) → Dense(10, softmax), Adam ${LR}, batch ${BATCH}, ${opts.epochs} epochs, no early stopping. frozen = retrained_blocks 0 (transferkit: activation cache on); last-stage = retrained_blocks 1, the backbone's \`top\` block trains (transferkit: cache auto, cut before it). Keras: the base called with training=False (its BatchNorm in inference mode, also in the trainable top block; transferkit's trainable BatchNorm normalises each batch), fit on whole arrays (the base forward every epoch). tk-cold: empty cache folder; tk-warm: the same folder, learning rate ${WARM_LR}. Wall = process start to exit; peak RSS = GNU time %M.`,
  '',
  ...ratioTable(results),
  '',
  ...runTable(results),
  '',
];
await writeFile(join(BENCH, 'results', `${opts.out}.md`), md.join('\n'));
log(`wrote bench/results/${opts.out}.json and .md (${minutes.toFixed(1)} min)`);
if (!opts.keep) await rm(work, { recursive: true, force: true });
