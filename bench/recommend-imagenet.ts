/**
 * `recommend` on ImageNet features, against measured reality (issue 17). Two parts:
 *
 * 1. Advice vs the best setting, per label budget: `transferkit recommend` on Fashion-MNIST with
 *    EfficientNet-Lite0's ImageNet weights at 160 px and no source dataset (ImageNet cannot be loaded,
 *    so the similarity is not measured), at each budget; its setting is compared with the test
 *    accuracies committed in bench/results/imagenet-default.json (train's defaults, frozen: up to 100
 *    labels per class), imagenet-size-threshold.json (the frozen probe above that, and the last block
 *    `top` fine-tuned; 3 seeds each) and imagenet-transfer.json (Lite0 from scratch). The advice is right when its setting's mean is the best, or within the spread
 *    (the larger sample sd of the two) of the best. Settings never measured are said to be.
 * 2. PAD anchors on ImageNet features: recommend with a source dataset for pairs that can be built
 *    here, so the similarity thresholds can be read against ImageNet-feature distances.
 *
 *   node --import tsx bench/recommend-imagenet.ts [--budgets 1,5,10,30,100,300,1000] [--seed 1] [--pilot off]
 *
 * Untracked. Writes bench/results/recommend-imagenet.json and .md.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import { pino } from 'pino';
import { z } from 'zod';
import { applyShift, type ShiftSpec } from '../src/pipeline/adapt/shift.js';
import { loadDataset } from '../src/pipeline/data/index.js';
import { subsetImageSet } from '../src/pipeline/data/sample.js';
import type { ImageSet } from '../src/pipeline/data/types.js';
import { mean, runSchema, sd, type Run } from './imagenet-support.js';
import { BENCH, CLI, REPO, buildDistIfStale, childEnv, cliArgs, dataRoot, machine, runMeasured } from './speed-support.js';

const args = cliArgs(process.argv.slice(2));
const budgets = (args.value('budgets') ?? '1,5,10,30,100,300,1000').split(',').map(Number);
const seed = args.value('seed') ?? '1';
const pilot = args.value('pilot') ?? 'off';
const size = 160;
const log = (s: string) => process.stderr.write(`${s}\n`);
await buildDistIfStale(log);
const work = join(await dataRoot(), 'recommend-imagenet');
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const reportSchema = z.object({
  recommendation: z.object({ setting: z.string(), sure: z.boolean(), candidates: z.array(z.string()), decided_by: z.string(), reason: z.string() }),
  measurements: z.object({ proxy_a_distance: z.number().nullable(), domain_classifier_error: z.number().nullable(), mmd: z.number().nullable() }),
});

async function recommend(name: string, flags: readonly string[]): Promise<z.infer<typeof reportSchema> & { seconds: number }> {
  const out = join(work, name);
  const res = await runMeasured(process.execPath, [CLI, 'recommend', '--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size), '--seed', seed, '--pilot', pilot, '--output_dir', out, ...flags], env);
  if (res.exitCode !== 0) throw new Error(`recommend ${flags.join(' ')} failed (${res.exitCode}):\n${res.stderr.slice(-3000)}`);
  return { ...reportSchema.parse(JSON.parse(await readFile(join(out, 'recommendation.json'), 'utf8'))), seconds: res.wallSeconds };
}

// the measured settings: train's setting → (result file, config)
// the measured settings: train's setting → where its runs are (the first source with runs at a budget counts)
interface Source { readonly file: string; readonly config: string }
const MEASURED: Record<string, { sources: readonly Source[]; label: string }> = {
  // train's defaults: up to 100 labels per class auto's probe fits every label (imagenet-default); above, the split's λ (imagenet-size-threshold)
  'retrained_conv_layers=0': { sources: [{ file: 'imagenet-default', config: 'lite0_imagenet_default' }, { file: 'imagenet-size-threshold', config: 'lite0_imagenet_ridge_val' }], label: "frozen, train's default probe" },
  'retrained_blocks=1': { sources: [{ file: 'imagenet-size-threshold', config: 'lite0_imagenet_finetune_last' }], label: 'last block (top) fine-tuned, pooled head (Adam)' },
  'weights=none retrained_blocks=all': { sources: [{ file: 'imagenet-transfer', config: 'lite0_scratch' }], label: 'from scratch, every layer' },
};
const runsOf = async (file: string): Promise<Run[]> => z.object({ runs: z.array(runSchema) }).parse(JSON.parse(await readFile(join(BENCH, 'results', `${file}.json`), 'utf8'))).runs;
const files = Object.fromEntries(await Promise.all([...new Set(Object.values(MEASURED).flatMap((m) => m.sources.map((s) => s.file)))].map(async (f) => [f, await runsOf(f)] as const)));
const accuracies = (setting: string, budget: number): number[] => {
  for (const source of MEASURED[setting]?.sources ?? []) {
    const accs = (files[source.file] ?? []).filter((r) => r.config === source.config && r.size === size && r.budget === budget).map((r) => r.accuracy);
    if (accs.length > 0) return accs;
  }
  return [];
};
const pct = (xs: readonly number[]) => (xs.length === 0 ? 'not measured' : `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}%`);

const rows: string[] = [];
const verdicts: Record<string, unknown>[] = [];
for (const budget of budgets) {
  log(`recommend at ${budget} labels per class`);
  const r = await recommend(`budget-${budget}`, ['--dataset', 'fashion-mnist', '--samples_per_class', String(budget)]);
  const measured = Object.keys(MEASURED).map((s) => ({ setting: s, accs: accuracies(s, budget) })).filter((m) => m.accs.length > 1);
  const best = measured.reduce<(typeof measured)[number] | undefined>((b, m) => (b === undefined || mean(m.accs) > mean(b.accs) ? m : b), undefined);
  const chosen = accuracies(r.recommendation.setting, budget);
  const spread = best === undefined ? Number.NaN : Math.max(sd(best.accs), chosen.length > 1 ? sd(chosen) : 0);
  const right = best === undefined || chosen.length < 2 ? undefined : mean(best.accs) - mean(chosen) <= spread;
  const verdict = right === undefined ? 'not scored (its setting was not measured)' : right ? (best?.setting === r.recommendation.setting ? 'yes: the best' : 'yes: within the spread of the best') : 'no';
  verdicts.push({ budget, ...r.recommendation, seconds: r.seconds, measured: Object.fromEntries(measured.map((m) => [m.setting, m.accs])), best: best?.setting ?? null, right: right ?? null });
  const cols = Object.keys(MEASURED).map((s) => pct(accuracies(s, budget)));
  rows.push(`| ${budget} | ${r.recommendation.setting}${r.recommendation.sure ? '' : ` (unsure: ${r.recommendation.candidates.join(', ')})`} | ${cols.join(' | ')} | ${best?.setting ?? '—'} | ${verdict} |`);
}

/**
 * A shifted (or, with no spec, plain) copy of Fashion-MNIST's last 2,000 training images as a `folder:` dataset (PNG files in
 * class folders; folder.ts splits them into train and test): the target side of a shifted pair. The
 * source side samples the whole training set, so the two rarely share an image.
 */
async function shiftedFolder(name: string, spec: ShiftSpec | undefined): Promise<string> {
  const dir = join(work, 'shifted', name);
  await rm(dir, { recursive: true, force: true });
  const fm = await loadDataset({ name: 'fashion-mnist', cacheDir: join(work, 'download'), fetch, logger: pino({ level: 'silent' }) });
  const last = Array.from({ length: 2000 }, (_, i) => fm.train.count - 2000 + i);
  const unshifted = subsetImageSet(fm.train, last);
  const set: ImageSet = spec === undefined ? unshifted : applyShift(unshifted, spec);
  const pixels = set.height * set.width * set.channels;
  for (let i = 0; i < set.count; i++) {
    const classDir = join(dir, fm.classNames[set.labels[i] ?? 0]?.replaceAll('/', '-') ?? 'unknown');
    await mkdir(classDir, { recursive: true });
    const png = await tf.node.encodePng(tf.tensor3d(set.images.subarray(i * pixels, (i + 1) * pixels), [set.height, set.width, set.channels], 'int32'));
    await writeFile(join(classDir, `${i}.png`), png);
  }
  return `folder:${dir}`;
}

// PAD anchors: pairs buildable offline, through Lite0's ImageNet features (500 images a domain)
const PAIRS: { name: string; flags: () => Promise<string[]> }[] = [
  { name: 'Fashion-MNIST vs itself (other images)', flags: async () => ['--dataset', 'fashion-mnist', '--source_dataset', 'fashion-mnist'] },
  // the control for the shifted pairs: the same folder route (PNG files, resized when read) with no shift
  { name: 'Fashion-MNIST → an unshifted folder copy', flags: async () => ['--dataset', await shiftedFolder('identity', undefined), '--source_dataset', 'fashion-mnist'] },
  { name: 'Fashion-MNIST → inverted', flags: async () => ['--dataset', await shiftedFolder('invert', { kind: 'invert' }), '--source_dataset', 'fashion-mnist'] },
  { name: 'Fashion-MNIST → blurred (σ 1 px)', flags: async () => ['--dataset', await shiftedFolder('blur', { kind: 'blur' }), '--source_dataset', 'fashion-mnist'] },
  { name: 'Fashion-MNIST → mnistm-style blend', flags: async () => ['--dataset', await shiftedFolder('mnistm', { kind: 'mnistm', seed: 1 }), '--source_dataset', 'fashion-mnist'] },
  { name: 'Fashion-MNIST shirts, pullovers (6, 2) → T-shirts, coats (0, 4)', flags: async () => ['--dataset', 'fashion-mnist', '--classes', '0,4', '--source_dataset', 'fashion-mnist', '--source_classes', '2,6'] },
  { name: 'Fashion-MNIST classes 0-4 → 5-9', flags: async () => ['--dataset', 'fashion-mnist', '--classes', '5-9', '--source_dataset', 'fashion-mnist', '--source_classes', '0-4'] },
  { name: 'Fashion-MNIST footwear (5, 7, 9) → the rest', flags: async () => ['--dataset', 'fashion-mnist', '--classes', '0,1,2,3,4,6,8', '--source_dataset', 'fashion-mnist', '--source_classes', '5,7,9'] },
];
const anchors: Record<string, unknown>[] = [];
const anchorRows: string[] = [];
for (const [i, pair] of PAIRS.entries()) {
  log(`PAD: ${pair.name}`);
  try {
    const r = await recommend(`pair-${i}`, [...await pair.flags(), '--samples_per_class', '100']);
    const m = r.measurements;
    anchors.push({ pair: pair.name, ...m });
    anchorRows.push(`| ${pair.name} | ${m.proxy_a_distance?.toFixed(2) ?? '—'} | ${m.domain_classifier_error === null ? '—' : `${(m.domain_classifier_error * 100).toFixed(1)}%`} | ${m.mmd?.toFixed(3) ?? '—'} |`);
  } catch (error) {
    anchors.push({ pair: pair.name, error: error instanceof Error ? error.message.split('\n')[0] : String(error) });
    anchorRows.push(`| ${pair.name} | not measured: ${error instanceof Error ? (error.message.split('\n').find((l) => /Error|error:/.test(l)) ?? 'failed').slice(0, 160) : 'failed'} | | |`);
  }
}

const mach = await machine({});
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
const command = `node --import tsx bench/recommend-imagenet.ts --budgets ${budgets.join(',')} --seed ${seed} --pilot ${pilot}`;
const scored = verdicts.filter((v) => v['right'] !== null);
const md = [
  '# recommend on ImageNet features (recommend-imagenet)',
  '',
  `Measured at commit ${commit} with \`${command}\`, on ${mach.cpu_model} (${mach.cpus} CPUs), node ${mach.node}.`,
  '',
  `## Advice vs the best measured setting (Fashion-MNIST, EfficientNet-Lite0 ImageNet weights, ${size} px, no source dataset: similarity not measured; pilot=${pilot})`,
  '',
  'Accuracies: test accuracy on the 10,000 test images, mean ± sample sd over seeds 1, 2, 3, from the committed files named in the header of bench/recommend-imagenet.ts (their protocol: 20% of each budget for validation, early stopping, up to 30 epochs; 1 label per class: every label trains; the frozen column up to 100 labels per class is train with its defaults, whose probe then fits every label). "Right" = the advised setting has the best mean, or is within the larger sd of the two of it.',
  '',
  `| labels/class | advice | ${Object.values(MEASURED).map((m) => m.label).join(' | ')} | best | right? |`,
  `|---|---|${Object.keys(MEASURED).map(() => '---|').join('')}---|---|`,
  ...rows,
  '',
  `Scored at ${scored.length} of ${verdicts.length} budgets; right at ${scored.filter((v) => v['right'] === true).length} of them.`,
  '',
  '## PAD anchors on Lite0 ImageNet features (500 images a domain, 160 px, `recommend` with a source dataset)',
  '',
  '| pair | PAD | domain classifier error | MMD |',
  '|---|---|---|---|',
  ...anchorRows,
  '',
].join('\n');
await writeFile(join(BENCH, 'results', 'recommend-imagenet.md'), md);
await writeFile(join(BENCH, 'results', 'recommend-imagenet.json'), `${JSON.stringify({ commit, command, machine: mach, advice: verdicts, anchors }, null, 2)}\n`);
log(md);
