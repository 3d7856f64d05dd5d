/**
 * AdaBN on real ImageNet features: Fashion-MNIST (labelled source) → its shifted variants (mnistm-style
 * blend, blur, invert; src/pipeline/adapt/shift.ts), 0 target labels, EfficientNet-Lite0 with its
 * ImageNet weights frozen at 96 px, a pooled head trained with Adam, through the pipeline's own entry
 * (`runTraining`, tracking off). Source-only (`none`) vs `adabn` (and any other adaptation values
 * given), the same seeds, the same test images.
 *
 * To fit a shared 2-core machine the data is a fixed subset of Debian's Fashion-MNIST, written as a
 * local data_dir: the first 6,000 training images (halved between the domains by the pipeline) and
 * the first 1,000 test images (the source test set, and shifted, the target test set). Source labels:
 * 50 per class (20% validation); unlabelled target pool: 500 images, all of them AdaBN's images.
 *
 *   node --import tsx bench/adabn.ts [--seeds 1,2,3] [--shifts mnistm,blur,invert] [--methods none,adabn] [--epochs 15] [--name adabn]
 *
 * Writes bench/results/<name>.json after every run (rows so far) and prints the table at the end.
 * "Selection cost": the run keeps the epoch its label-free signal picks (source validation loss); the
 * pipeline also scores the target test set after every epoch (for this report only) and logs
 * `selection_gap` = accuracy at the best such epoch (the oracle, which reads target labels) minus at
 * the kept one. The table gives its mean over seeds and the worst seed, in points.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import pino from 'pino';
import { createLogger } from '../src/log.js';
import { loadDataset } from '../src/pipeline/data/registry.js';
import { parseParams } from '../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../src/pipeline/params/train.js';
import { runTraining } from '../src/pipeline/run.js';
import { BENCH, dataRoot, machine, writeIdxSubset } from './speed-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const shifts = arg('shifts', 'mnistm,blur,invert').split(',');
const methods = arg('methods', 'none,adabn').split(',');
const epochs = arg('epochs', '15');
/** The result file's name: bench/results/<name>.json. */
const name = arg('name', 'adabn');
const log = (s: string) => process.stderr.write(`${s}\n`);
const TRAIN = 6000;
const TEST = 1000;

const work = join(await dataRoot(), 'adabn');
await rm(join(work, 'runs'), { recursive: true, force: true });

const full = await loadDataset({ name: 'fashion-mnist', cacheDir: join(work, 'download'), fetch, logger: pino({ level: 'silent' }) });
const dataDir = join(work, 'fashion-subset');
await writeIdxSubset(dataDir, full, TRAIN, TEST);

const logger = createLogger({ level: 'warn' });
const COMMON = {
  dataset: 'fashion-mnist', data_dir: dataDir, target_dataset: 'fashion-mnist', target_data_dir: dataDir,
  backbone: 'efficientnet_lite0', weights: 'imagenet', input_size: '96', retrained_blocks: '0', head: 'pooled', dense_units: '128',
  samples_per_class: '50', target_unlabeled_samples: '500',
  batch_size: '64', max_epochs: epochs, patience: '3', activation_cache: 'on',
};

interface Result {
  readonly test: number;
  readonly source: number | undefined;
  readonly epochs: number;
  readonly wall: number;
  readonly adabnImages: string | undefined;
  /** Label-free selection vs the oracle epoch (the pipeline's own metrics, src/pipeline/adapt/selection-plan.ts): target test accuracy at the best epoch minus at the kept one. */
  readonly selectionGap?: number | undefined;
  readonly selectedEpoch?: number | undefined;
  readonly oracleEpoch?: number | undefined;
}
const rows: { shift: string; method: string; seed: number; result: Result }[] = [];
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'bench/adabn.ts'], { encoding: 'utf8' }).trim() !== '';
const command = `node --import tsx bench/adabn.ts ${process.argv.slice(2).join(' ')}`.trim();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs: number[]) => `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}`;

function table(): string[] {
  const lines = ['| shift | method | seeds | target test % | vs none (beats by > spread?) | source test % | selection cost, points (worst seed) |', '|---|---|---|---|---|---|---|'];
  for (const shift of shifts) {
    const base = rows.filter((r) => r.shift === shift && r.method === 'none').map((r) => r.result.test);
    for (const method of methods) {
      const rs = rows.filter((r) => r.shift === shift && r.method === method);
      if (rs.length === 0) continue;
      const acc = rs.map((r) => r.result.test);
      const spread = Math.max(sd(acc), sd(base));
      const delta = mean(acc) - mean(base);
      const beats = method === 'none' || base.length === 0 ? '—' : `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)} (${delta > spread ? 'yes' : 'no'}, spread ${(spread * 100).toFixed(1)})`;
      const source = rs.map((r) => r.result.source).filter((x): x is number => x !== undefined);
      const gaps = rs.map((r) => r.result.selectionGap).filter((x): x is number => x !== undefined && Number.isFinite(x));
      const cost = gaps.length === 0 ? 'n/a' : `${(mean(gaps) * 100).toFixed(1)} (${(Math.max(...gaps) * 100).toFixed(1)})`;
      lines.push(`| ${shift} | ${method} | ${rs.map((r) => r.seed).join(',')} | ${pm(acc)} | ${beats} | ${pm(source)} | ${cost} |`);
    }
  }
  return lines;
}

const t0 = performance.now();
const mach = await machine({});
async function save(): Promise<void> {
  await mkdir(join(BENCH, 'results'), { recursive: true });
  const doc = { command, commit, dirty, machine: mach, note: 'shared 2-core machine: accuracies only, wall times not comparable', seeds, shifts, methods, epochs, common: { ...COMMON, adabn_samples: 'all (the adabn methods only)', data_dir: `first ${TRAIN} train / ${TEST} test images of Fashion-MNIST`, target_data_dir: 'same' }, rows, minutes: (performance.now() - t0) / 60_000, table: table() };
  await writeFile(join(BENCH, 'results', `${name}.json`), `${JSON.stringify(doc, null, 2)}\n`);
}

for (const shift of shifts) {
  for (const seed of seeds) {
    for (const method of methods) {
      const out = join(work, 'runs', `${shift}-${method}-${seed}`);
      // AdaBN on all 500 unlabelled target images (a knob only the adabn methods take)
      const adabn = method.startsWith('adabn') ? { adabn_samples: 'all' } : {};
      const params = parseParams(trainParamsSchema, { ...COMMON, ...adabn, adaptation: method, target_shift: shift, seed: String(seed), output_dir: out });
      const started = performance.now();
      const res = await runTraining(params, { logger, env: process.env, fetch, now: Date.now, cwd: process.cwd(), cacheDir: join(work, 'cache'), outputDir: out });
      const result: Result = { test: res.test.accuracy, source: res.metrics['source_test_accuracy'], epochs: res.metrics['epochs_run'] ?? Number.NaN, wall: (performance.now() - started) / 1000, adabnImages: res.tags['transferkit.adabn_images'],
        selectionGap: res.metrics['selection_gap'], selectedEpoch: res.metrics['selected_epoch'], oracleEpoch: res.metrics['oracle_best_epoch'] };
      rows.push({ shift, method, seed, result });
      log(`${shift} seed ${seed} ${method}: target ${(result.test * 100).toFixed(2)}%, source ${((result.source ?? Number.NaN) * 100).toFixed(2)}%, ${result.epochs} epochs, ${result.wall.toFixed(0)} s`);
      await save();
    }
  }
}
process.stdout.write(`${table().join('\n')}\n`);
