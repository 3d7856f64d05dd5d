/**
 * Few or no target labels: each adaptation method against source-only, on real offline data
 * (Debian's Fashion-MNIST), through the pipeline's own entry (`runTraining`, in this process, with
 * tracking off; wall time per run includes loading and shifting the data, not Node's start-up).
 *
 * (a) Fashion-MNIST → shifted Fashion-MNIST, same 10 classes, 0 target labels. The training split is
 *     halved between the domains (src/pipeline/adapt/adapt-data.ts); the target half and the test set
 *     are shifted with a fixed seed. Source-only (`none`) vs `dann`, `coral`, `pseudo_label`.
 * (b) Fashion-MNIST 0-4 → 5-9 with 10 and 30 target labels per class: a source small CNN learns 0-4
 *     (once per seed, a normal run), then the frozen-conv transfer (`none`, conv layers frozen), the
 *     same network from scratch (`none`, weights none, every layer trained) and `pseudo_label` on the
 *     frozen-conv transfer, each with the same unlabelled 5-9 pool.
 * Every method runs at its default strength (adaptation_weight 1: DANN λ up to 0.1, CORAL ×100,
 * FixMatch λ_u 1), chosen on the `noise` shift, which is not among the default shifts of (a).
 * Selection and early stopping without target labels: the source validation loss.
 *
 *   node --import tsx bench/adapt.ts [--seeds 1,2,3] [--shifts mnistm,noise,blur,invert] [--budgets 10,30] [--parts a,b] [--epochs 20]
 *
 * Prints the tables (mean ± sample sd over seeds) and writes bench/results/adapt-<time>.json.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createLogger } from '../src/log.js';
import { parseParams } from '../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../src/pipeline/params/train.js';
import { runTraining } from '../src/pipeline/run.js';
import { BENCH, dataRoot, machine } from './speed-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const seeds = arg('seeds', '1,2,3').split(',').map(Number);
const shifts = arg('shifts', 'mnistm,blur').split(',');
const budgets = arg('budgets', '10,30').split(',').map(Number);
const parts = arg('parts', 'a,b').split(',');
const epochs = arg('epochs', '20');
const log = (s: string) => process.stderr.write(`${s}\n`);

const work = join(await dataRoot(), 'adapt');
// every run starts fresh: a normal run (the source models of (b)) would otherwise resume its checkpoint
await rm(work, { recursive: true, force: true });
const logger = createLogger({ level: 'warn' });
const COMMON = { dataset: 'fashion-mnist', backbone: 'small-cnn', batch_size: '64', dense_units: '128', max_epochs: epochs, patience: '3' };
/** The target's unlabelled pool in every adaptation run (not in the source-model runs of (b)). */
const POOL = { target_unlabeled_samples: '2000' };
const METHODS = ['none', 'dann', 'coral', 'pseudo_label'] as const;

interface Result { readonly test: number; readonly source: number | undefined; readonly gap: number | undefined; readonly gapEntropy: number | undefined; readonly epochs: number; readonly wall: number }

async function run(raw: Record<string, string>, out: string): Promise<Result> {
  const params = parseParams(trainParamsSchema, { ...COMMON, ...raw, output_dir: out });
  const started = performance.now();
  const res = await runTraining(params, { logger, env: process.env, fetch, now: Date.now, cwd: process.cwd(), cacheDir: join(work, 'cache'), outputDir: out });
  const wall = (performance.now() - started) / 1000;
  return { test: res.test.accuracy, source: res.metrics['source_test_accuracy'], gap: res.metrics['selection_gap'], gapEntropy: res.metrics['selection_gap_target_entropy'], epochs: res.metrics['epochs_run'] ?? Number.NaN, wall };
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs: number[]) => `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}`;
const defined = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined && Number.isFinite(x));

const rows: { part: string; task: string; method: string; seed: number; result: Result }[] = [];
const t0 = performance.now();
if (parts.includes('a')) {
  for (const shift of shifts) {
    for (const seed of seeds) {
      for (const method of METHODS) {
        const result = await run({ ...POOL, adaptation: method, seed: String(seed), weights: 'none', retrained_conv_layers: 'all', samples_per_class: '150', target_dataset: 'fashion-mnist', target_shift: shift }, join(work, `a-${shift}-${method}-${seed}`));
        rows.push({ part: 'a', task: shift, method, seed, result });
        log(`(a) ${shift} seed ${seed} ${method}: target ${(result.test * 100).toFixed(2)}%, source ${((result.source ?? Number.NaN) * 100).toFixed(2)}%, ${result.epochs} epochs, ${result.wall.toFixed(0)} s`);
      }
    }
  }
}
if (parts.includes('b')) {
  for (const seed of seeds) {
    const sourceDir = join(work, `source-${seed}`);
    const src = await run({ seed: String(seed), classes: '0-4', weights: 'none', retrained_conv_layers: 'all', samples_per_class: '2000', max_epochs: '3', use_early_stop: '0', validation_fraction: '0.1' }, sourceDir);
    log(`(b) seed ${seed}: source model on 0-4 ${(src.test * 100).toFixed(2)}% in ${src.wall.toFixed(0)} s`);
    const target = { ...POOL, seed: String(seed), classes: '0-4', target_dataset: 'fashion-mnist', target_classes: '5-9' };
    for (const budget of budgets) {
      const configs: [string, Record<string, string>][] = [
        ['frozen-conv transfer', { adaptation: 'none', weights: join(sourceDir, 'model'), retrained_conv_layers: '0' }],
        ['from scratch', { adaptation: 'none', weights: 'none', retrained_conv_layers: 'all' }],
        ['pseudo_label (frozen conv)', { adaptation: 'pseudo_label', weights: join(sourceDir, 'model'), retrained_conv_layers: '0' }],
      ];
      for (const [method, raw] of configs) {
        const result = await run({ ...target, ...raw, target_labels_per_class: String(budget) }, join(work, `b-${budget}-${method.replace(/\W+/g, '-')}-${seed}`));
        rows.push({ part: 'b', task: `${budget}/class`, method, seed, result });
        log(`(b) ${budget}/class seed ${seed} ${method}: target ${(result.test * 100).toFixed(2)}%, ${result.epochs} epochs, ${result.wall.toFixed(0)} s`);
      }
    }
  }
}
const totalMinutes = (performance.now() - t0) / 60_000;

function table(part: string, title: string, header: string): string[] {
  const tasks = [...new Set(rows.filter((r) => r.part === part).map((r) => r.task))];
  const lines = [title, '', header, `|${header.split('|').slice(1, -1).map(() => '---').join('|')}|`];
  for (const task of tasks) {
    const base = rows.filter((r) => r.part === part && r.task === task && (r.method === 'none' || r.method === 'frozen-conv transfer'));
    for (const method of [...new Set(rows.filter((r) => r.part === part && r.task === task).map((r) => r.method))]) {
      const rs = rows.filter((r) => r.part === part && r.task === task && r.method === method);
      const acc = rs.map((r) => r.result.test);
      const delta = mean(acc) - mean(base.map((r) => r.result.test));
      const spread = Math.max(sd(acc), sd(base.map((r) => r.result.test)));
      const beats = method === 'none' || method === 'frozen-conv transfer' ? '—' : `${delta >= 0 ? '+' : ''}${(delta * 100).toFixed(1)} (${delta > spread ? 'yes' : 'no'}, spread ${(spread * 100).toFixed(1)})`;
      const cells = part === 'a'
        ? [task, method, pm(acc), beats, pm(defined(rs.map((r) => r.result.source))), `${(mean(defined(rs.map((r) => r.result.gap))) * 100).toFixed(1)} / ${(mean(defined(rs.map((r) => r.result.gapEntropy))) * 100).toFixed(1)}`, mean(rs.map((r) => r.result.epochs)).toFixed(1), mean(rs.map((r) => r.result.wall)).toFixed(0)]
        : [task, method, pm(acc), beats, mean(rs.map((r) => r.result.epochs)).toFixed(1), mean(rs.map((r) => r.result.wall)).toFixed(0)];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  return lines;
}

const lines = [
  ...(parts.includes('a') ? table('a', `(a) Fashion-MNIST → shifted Fashion-MNIST, 0 target labels: 1,500 source labels (150/class, 20% for validation), 2,000 unlabelled target images, small CNN from scratch, batch 64, ≤ ${epochs} epochs (early stopping on the source validation loss, patience 3); target test accuracy on the 10,000 shifted test images, mean ± sd over seeds ${seeds.join(',')}`,
    '| shift | method | target test % | vs source-only (beats by > spread?) | source test % | selection gap: source val loss / entropy (points) | epochs | wall s |') : []),
  '',
  ...(parts.includes('b') ? table('b', `(b) Fashion-MNIST 0-4 → 5-9, target labels per class as given (20% of them for validation), 2,000 unlabelled 5-9 images; test accuracy on the 5,000 test images of 5-9, mean ± sd over seeds ${seeds.join(',')}`,
    '| labels | method | target test % | vs frozen-conv transfer (beats by > spread?) | epochs | wall s |') : []),
  '',
  `Total ${totalMinutes.toFixed(1)} min.`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await mkdir(join(BENCH, 'results'), { recursive: true });
const file = join(BENCH, 'results', `adapt-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, `${JSON.stringify({ machine: await machine({}), seeds, shifts, budgets, epochs, methods: METHODS, common: COMMON, rows, totalMinutes, table: lines }, null, 2)}\n`);
await rm(join(work, 'cache'), { recursive: true, force: true });
log(`results in ${file}`);
