/**
 * Label-scarce heads on a frozen ImageNet backbone (issue 17): Fashion-MNIST (Debian's offline copy,
 * all 10 classes) at k training labels per class, the frozen EfficientNet-Lite0 with its real
 * ImageNet weights at 96 px, three ways of fitting the head on the same labels:
 *   ridge_probe    head_solver=ridge: closed-form class-balanced ridge on the pooled features, λ on validation
 *   pooled_adam    the pooled head (global average pooling → Dense 256 → Dropout → softmax), Adam, early stopping
 *   naive_flatten  the seed's recipe: Flatten head on the frozen base, Adam, early stopping
 * and, with --configs, the probe with test-time augmentation (ridge_probe_tta) or followed by
 * fine-tuning the last block (lpft; lpft_discriminative_l2sp with backbone_lr_factor and L2-SP).
 * Every recipe gets the same split: k labels per class for training plus k more per class for
 * validation (samples_per_class = 2k, validation_fraction = 0.5). Test accuracy on the 10,000 test
 * images; mean ± sample sd over seeds. The machine is shared: wall times are noisy and not compared.
 *
 *   npm run build && node --import tsx bench/few-label.ts [--seeds 1,2,3] [--budgets 1,5,10] [--size 96] [--epochs 30]
 *     [--configs ridge_probe,pooled_adam,naive_flatten] [--name few-label]
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
const budgets = list(arg('budgets', '1,5,10'));
const size = arg('size', '96');
const epochs = arg('epochs', '30');
const name = arg('name', 'few-label');
const log = (s: string) => process.stderr.write(`${s}\n`);

if (await distIsStale()) throw new Error('dist/ is older than src/: run `npm run build` first');
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO, encoding: 'utf8' }).trim();
const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: REPO, encoding: 'utf8' }).trim() !== '';
const work = join(await dataRoot(), 'few-label');
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const metricsFile = z.object({ test: z.object({ accuracy: z.number() }), bestEpoch: z.number(), tags: z.record(z.string(), z.string()) });

const frozenLite0 = ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', size, '--retrained_conv_layers', '0'];
const CONFIGS = {
  ridge_probe: { label: 'linear probe (ridge, λ on validation)', args: [...frozenLite0, '--head_solver', 'ridge'] },
  pooled_adam: { label: 'pooled head, Adam', args: [...frozenLite0, '--head', 'pooled'] },
  naive_flatten: { label: "seed's recipe: Flatten head, Adam", args: [...frozenLite0, '--head', 'flatten'] },
  // the other recipes of issue 17 on top of the probe (not in the default set)
  ridge_probe_tta: { label: 'linear probe, tta=flip', args: [...frozenLite0, '--head_solver', 'ridge', '--tta', 'flip'] },
  lpft: { label: 'probe, then the last block at lr/10 (LP-FT)', args: [...frozenLite0, '--head_solver', 'ridge', '--fine_tune_blocks', '1', '--fine_tune_epochs', '10'] },
  lpft_discriminative_l2sp: {
    label: 'LP-FT, backbone_lr_factor 0.1, l2sp_weight 0.01',
    args: [...frozenLite0, '--head_solver', 'ridge', '--fine_tune_blocks', '1', '--fine_tune_epochs', '10', '--backbone_lr_factor', '0.1', '--l2sp_weight', '0.01'],
  },
} as const;
type Config = keyof typeof CONFIGS;
const isConfig = (c: string): c is Config => c in CONFIGS;
const chosen = arg('configs', 'ridge_probe,pooled_adam,naive_flatten').split(',').filter(isConfig);

interface Run { config: Config; seed: number; budget: number; accuracy: number; best_epoch: number; ridge_lambda: number | null; wall_seconds: number; peak_rss_mb: number }
const runs: Run[] = [];
for (const budget of budgets) {
  for (const seed of seeds) {
    for (const config of chosen) {
      const out = join(work, `${config}-${budget}-${seed}`);
      const all = [
        'train', '--dataset', 'fashion-mnist', '--samples_per_class', String(2 * budget), '--validation_fraction', '0.5', '--seed', String(seed),
        '--max_epochs', epochs, '--patience', '5', ...CONFIGS[config].args, '--output_dir', out,
      ];
      const res = await runMeasured('node', [CLI, ...all], env);
      if (res.exitCode !== 0) throw new Error(`${all.join(' ')} failed:\n${res.stderr.slice(-2000)}`);
      const m = metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
      const lambda = m.tags['transferkit.ridge_lambda'];
      runs.push({ config, seed, budget, accuracy: m.test.accuracy, best_epoch: m.bestEpoch, ridge_lambda: lambda === undefined ? null : Number(lambda), wall_seconds: res.wallSeconds, peak_rss_mb: res.peakRssMB });
      log(`${budget}/class seed ${seed} ${config}: ${(m.test.accuracy * 100).toFixed(2)}% (${res.wallSeconds.toFixed(0)} s)`);
    }
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const acc = (c: Config, b: number) => runs.filter((r) => r.config === c && r.budget === b).map((r) => r.accuracy);
const pm = (xs: number[]) => (xs.length === 0 ? 'not run' : `${(mean(xs) * 100).toFixed(1)} ± ${(sd(xs) * 100).toFixed(1)}%`);
const summary = budgets.map((b) => ({ budget: b, ...Object.fromEntries(chosen.map((c) => [c, acc(c, b)])) }));
const command = `node --import tsx bench/few-label.ts --seeds ${seeds.join(',')} --budgets ${budgets.join(',')} --size ${size} --epochs ${epochs} --configs ${chosen.join(',')} --name ${name}`;
const table = [
  `Fashion-MNIST, 10 classes, frozen EfficientNet-Lite0 (ImageNet weights) at ${size} px; k training labels per class plus k more per class for validation (the same split for every head); ` +
    `test accuracy on 10,000 images, mean ± sd over seeds ${seeds.join(', ')}. Adam heads: up to ${epochs} epochs, early stopping (patience 5).`,
  `Measured at commit ${commit}${dirty ? ' (with uncommitted changes)' : ''} with: \`${command}\``,
  '',
  `| labels/class | ${chosen.map((c) => CONFIGS[c].label).join(' | ')} |`,
  `|---|${chosen.map(() => '---|').join('')}`,
  ...budgets.map((b) => `| ${b} | ${chosen.map((c) => pm(acc(c, b))).join(' | ')} |`),
];
process.stdout.write(`${table.join('\n')}\n`);
await mkdir(join(BENCH, 'results'), { recursive: true });
await writeFile(join(BENCH, 'results', `${name}.json`), `${JSON.stringify({ command, commit, dirty, machine: await machine({}), seeds, budgets, size, epochs, runs, summary }, null, 2)}\n`);
await writeFile(join(BENCH, 'results', `${name}.md`), `${table.join('\n')}\n`);
log(`results in bench/results/${name}.{json,md}`);
