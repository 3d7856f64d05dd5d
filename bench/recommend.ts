/**
 * Strategy advice against reality, on Fashion-MNIST (offline, Debian's copy). A source small CNN
 * learns classes 0-4 from all their labels (3 epochs); then, for classes 5-9 at each label budget,
 * `transferkit recommend` gives its advice and every candidate setting is trained and tested:
 * retrained_conv_layers=0, 1 and all from the source model, and weights=none (from scratch). The
 * advice is right when it names the setting with the best mean test accuracy over the seeds.
 *
 *   node --import tsx bench/recommend.ts [--budgets 10,100,all] [--seeds 1,2,3] [--all-seeds 1,2]
 *     [--epochs 20] [--all-epochs 3] [--concurrency 2] [--keep]
 *
 * Budget `all` (6,000 images a class) trains `--all-epochs` epochs, not 20, to keep the whole run
 * near 15 minutes on 2 cores. Untracked (TRANSFERKIT_TRACKING=off). Prints a Markdown table and
 * writes bench/results/recommend.json and recommend.md.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BENCH, CLI, REPO, childEnv, dataRoot, distIsStale, machine, runMeasured } from './speed-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const budgets = arg('budgets', '10,100,all').split(',');
const seeds = arg('seeds', '1,2,3').split(',');
const allSeeds = arg('all-seeds', '1,2').split(',');
const epochs = arg('epochs', '20');
const allEpochs = arg('all-epochs', '3');
const concurrency = Number(arg('concurrency', '2'));
const log = (s: string) => process.stderr.write(`${s}\n`);
const t0 = performance.now();

if (await distIsStale()) {
  log('dist/ is missing or older than src/: building it (tsc -p tsconfig.json)');
  const res = await runMeasured(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], childEnv());
  // tsc still emits on type errors (e.g. someone else's edit in progress): say so and go on
  if (res.exitCode !== 0) log(`tsc reported errors; running the emitted dist/ anyway:\n${res.stdout.slice(-2000)}`);
}
const work = join(await dataRoot(), 'recommend');
await rm(work, { recursive: true, force: true });
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const common = ['--dataset', 'fashion-mnist', '--backbone', 'small-cnn', '--cache_dir', join(work, 'cache')];

async function cli(args: readonly string[]): Promise<number> {
  const res = await runMeasured('node', [CLI, ...args], env);
  if (res.exitCode !== 0) throw new Error(`transferkit ${args.join(' ')} failed:\n${res.stderr.slice(-3000)}`);
  return res.wallSeconds;
}
const accuracyOf = async (out: string) =>
  z.object({ test: z.object({ accuracy: z.number() }) }).parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'))).test.accuracy;

// 1. the source model
const sourceDir = join(work, 'source');
const sourceSeconds = await cli(['train', ...common, '--classes', '0-4', '--weights', 'none', '--retrained_conv_layers', 'all', '--samples_per_class', 'all', '--max_epochs', '3', '--output_dir', sourceDir]);
const sourceAccuracy = await accuracyOf(sourceDir);
log(`source (classes 0-4): test ${(sourceAccuracy * 100).toFixed(2)}% in ${sourceSeconds.toFixed(0)} s`);
const sourceModel = join(sourceDir, 'model');

// 2. the advice per budget
const reportSchema = z.object({
  recommendation: z.object({ setting: z.string(), reason: z.string(), size: z.string(), similarity: z.string() }),
  measurements: z.object({ labels_per_class: z.number(), proxy_a_distance: z.number(), domain_classifier_error: z.number(), mmd: z.number() }),
});
const advice: Record<string, z.infer<typeof reportSchema> & { seconds: number }> = {};
for (const budget of budgets) {
  const out = join(work, `recommend-${budget}`);
  const seconds = await cli(['recommend', ...common, '--classes', '5-9', '--samples_per_class', budget, '--weights', sourceModel, '--output_dir', out]);
  advice[budget] = { ...reportSchema.parse(JSON.parse(await readFile(join(out, 'recommendation.json'), 'utf8'))), seconds };
  log(`budget ${budget}: advice ${advice[budget]?.recommendation.setting} (PAD ${advice[budget]?.measurements.proxy_a_distance.toFixed(3)}) in ${seconds.toFixed(1)} s`);
}

// 3. every candidate, every seed (longest first, `concurrency` at a time)
const CANDIDATES = [
  { setting: 'retrained_conv_layers=0', args: ['--weights', sourceModel, '--retrained_conv_layers', '0'] },
  { setting: 'retrained_conv_layers=1', args: ['--weights', sourceModel, '--retrained_conv_layers', '1'] },
  { setting: 'retrained_conv_layers=all', args: ['--weights', sourceModel, '--retrained_conv_layers', 'all'] },
  { setting: 'weights=none retrained_conv_layers=all', args: ['--weights', 'none', '--retrained_conv_layers', 'all'] },
] as const;
interface Result { budget: string; setting: string; seed: string; accuracy: number; seconds: number }
const jobs = budgets.flatMap((budget) =>
  (budget === 'all' ? allSeeds : seeds).flatMap((seed) => CANDIDATES.map((c) => ({ budget, seed, ...c }))),
).sort((a, b) => Number(b.budget === 'all') - Number(a.budget === 'all'));
const results: Result[] = [];
async function worker(): Promise<void> {
  for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
    const out = join(work, 'runs', `${job.budget}-${job.setting.replace(/\W+/g, '_')}-${job.seed}`);
    const max = job.budget === 'all' ? allEpochs : epochs;
    const seconds = await cli(['train', ...common, '--classes', '5-9', '--samples_per_class', job.budget, '--max_epochs', max, '--seed', job.seed, ...job.args, '--output_dir', out]);
    results.push({ budget: job.budget, setting: job.setting, seed: job.seed, accuracy: await accuracyOf(out), seconds });
    log(`  budget ${job.budget} ${job.setting} seed ${job.seed}: ${((results.at(-1)?.accuracy ?? 0) * 100).toFixed(2)}% in ${seconds.toFixed(0)} s`);
  }
}
await Promise.all(Array.from({ length: concurrency }, () => worker()));

// 4. the table
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: readonly number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pct = (x: number) => (x * 100).toFixed(2);
const rows = budgets.map((budget) => {
  const a = advice[budget];
  const settings = CANDIDATES.map((c) => {
    const accs = results.filter((r) => r.budget === budget && r.setting === c.setting).map((r) => r.accuracy);
    return { setting: c.setting, mean: mean(accs), sd: sd(accs), runs: accs.length };
  });
  const best = settings.reduce((x, y) => (y.mean > x.mean ? y : x));
  const advised = settings.find((s) => s.setting === a?.recommendation.setting);
  return {
    budget, labels_per_class: a?.measurements.labels_per_class, advice: a, settings, best: best.setting,
    advice_is_best: advised?.setting === best.setting, gap_to_best_points: advised === undefined ? null : (best.mean - advised.mean) * 100,
  };
});
const short = (s: string) => s.replace('weights=none retrained_conv_layers=all', 'scratch').replace('retrained_conv_layers=', 'rcl=');
const header = `| labels/class | PAD (ε) | MMD | advice | ${CANDIDATES.map((c) => short(c.setting)).join(' | ')} | best | advice right? | gap |`;
const lines = [
  header,
  `|${'---|'.repeat(header.split('|').length - 2)}`,
  ...rows.map((r) =>
    `| ${r.labels_per_class} | ${r.advice?.measurements.proxy_a_distance.toFixed(2)} (${pct(r.advice?.measurements.domain_classifier_error ?? 0)}%) | ${r.advice?.measurements.mmd.toFixed(3)} | ${short(r.advice?.recommendation.setting ?? '?')} | ` +
    `${r.settings.map((s) => `${pct(s.mean)} ± ${pct(s.sd)}`).join(' | ')} | ${short(r.best)} | ${r.advice_is_best ? 'yes' : '**no**'} | ` +
    `${r.gap_to_best_points === null ? 'n/a' : `${r.gap_to_best_points.toFixed(2)} pt`} |`),
];
const totalSeconds = (performance.now() - t0) / 1000;
const mach = await machine({});
const summary = [
  `Source: small CNN on Fashion-MNIST classes 0-4, all labels, 3 epochs: ${pct(sourceAccuracy)}% test accuracy. Target: classes 5-9, test accuracy on their 5,000 test images, ` +
    `mean ± sd over seeds ${seeds.join(', ')}, ${epochs} epochs${budgets.includes('all') ? ` (budget all: seeds ${allSeeds.join(', ')}, ${allEpochs} epochs)` : ''}, ` +
    "early stopping on (patience 3) and transferkit's other defaults.",
  '',
  ...lines,
  '',
  `Total ${(totalSeconds / 60).toFixed(1)} min on ${mach.cpus} × ${mach.cpu_model}, concurrency ${concurrency}.`,
].join('\n');
console.log(summary);
await mkdir(join(BENCH, 'results'), { recursive: true });
await writeFile(join(BENCH, 'results', 'recommend.md'), `${summary}\n`);
await writeFile(join(BENCH, 'results', 'recommend.json'), `${JSON.stringify({ machine: mach, totalSeconds, sourceAccuracy, sourceSeconds, epochs, allEpochs, seeds, allSeeds, rows, results }, null, 2)}\n`);
if (!process.argv.includes('--keep')) await rm(work, { recursive: true, force: true });
