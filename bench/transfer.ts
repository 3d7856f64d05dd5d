/**
 * Transfer against training from scratch with few labels: the seed's MNIST recipe on Fashion-MNIST
 * (offline, Debian's copy). Per seed, a source small CNN learns classes 0-4 from all their labels;
 * then, per label budget on classes 5-9, one run trains the frozen-conv transfer and (in the same
 * run, `compare_scratch=1`) the same network from scratch on the same labels, and a second run
 * adds the fine-tuning stage (head first, then every conv layer at a 10× smaller learning rate).
 *
 *   node --import tsx bench/transfer.ts [--seeds 1,2,3] [--budgets 10,30,100,300] [--epochs 20]
 *
 * Prints a table (mean ± sample standard deviation over seeds) and writes bench/results/transfer-*.json.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BENCH, CLI, childEnv, dataRoot, distIsStale, machine, runMeasured } from './speed-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const list = (text: string) => text.split(',').map(Number);
const seeds = list(arg('seeds', '1,2,3'));
const budgets = list(arg('budgets', '10,30,100,300'));
const epochs = arg('epochs', '20');
const log = (s: string) => process.stderr.write(`${s}\n`);

if (await distIsStale()) throw new Error('dist/ is older than src/: run `npm run build` first');
const work = join(await dataRoot(), 'transfer');
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const common = ['--dataset', 'fashion-mnist', '--backbone', 'small-cnn', '--seed'];

const metricsFile = z.object({
  test: z.object({ accuracy: z.number() }),
  metrics: z.record(z.string(), z.number()),
});

async function train(args: readonly string[], out: string) {
  const res = await runMeasured('node', [CLI, 'train', ...args, '--output_dir', out], env);
  if (res.exitCode !== 0) throw new Error(`train ${args.join(' ')} failed:\n${res.stderr.slice(-2000)}`);
  const m = metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
  return { ...m, wall: res.wallSeconds, peakRssMB: res.peakRssMB };
}

interface Row { seed: number; budget: number; frozen: number; finetuned: number; scratch: number; frozenSeconds: number; finetunedSeconds: number; scratchSeconds: number }
const rows: Row[] = [];
const sources: { seed: number; accuracy: number; seconds: number }[] = [];
for (const seed of seeds) {
  const sourceDir = join(work, `source-${seed}`);
  const src = await train([...common, String(seed), '--classes', '0-4', '--weights', 'none', '--retrained_conv_layers', 'all', '--samples_per_class', 'all', '--max_epochs', '3'], sourceDir);
  sources.push({ seed, accuracy: src.test.accuracy, seconds: src.wall });
  log(`seed ${seed}: source 0-4 test ${(src.test.accuracy * 100).toFixed(2)}% in ${src.wall.toFixed(1)} s`);
  for (const budget of budgets) {
    const target = [...common, String(seed), '--classes', '5-9', '--weights', join(sourceDir, 'model'), '--samples_per_class', String(budget), '--max_epochs', epochs];
    const frozen = await train([...target, '--compare_scratch', '1'], join(work, `frozen-${seed}-${budget}`));
    const fine = await train([...target, '--fine_tune_conv_layers', 'all'], join(work, `finetuned-${seed}-${budget}`));
    const row = {
      seed, budget,
      frozen: frozen.test.accuracy, finetuned: fine.test.accuracy, scratch: frozen.metrics['scratch_test_accuracy'] ?? Number.NaN,
      frozenSeconds: frozen.metrics['transfer_seconds'] ?? Number.NaN, finetunedSeconds: fine.metrics['transfer_seconds'] ?? Number.NaN,
      scratchSeconds: frozen.metrics['scratch_seconds'] ?? Number.NaN,
    };
    rows.push(row);
    log(`  ${budget}/class: frozen ${(row.frozen * 100).toFixed(2)}%  fine-tuned ${(row.finetuned * 100).toFixed(2)}%  scratch ${(row.scratch * 100).toFixed(2)}%`);
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const pm = (xs: number[], scale = 100, digits = 2) => `${(mean(xs) * scale).toFixed(digits)} ± ${(sd(xs) * scale).toFixed(digits)}`;
const summary = budgets.map((budget) => {
  const r = rows.filter((x) => x.budget === budget);
  const pick = (k: keyof Row) => r.map((x) => Number(x[k]));
  const best = mean(pick('frozen')) >= mean(pick('finetuned')) ? 'frozen' : 'finetuned';
  const margin = mean(pick(best)) - mean(pick('scratch'));
  const spread = Math.max(sd(pick(best)), sd(pick('scratch')));
  return { budget, frozen: pick('frozen'), finetuned: pick('finetuned'), scratch: pick('scratch'), best, margin, spread, beats: margin > spread,
    seconds: { frozen: mean(pick('frozenSeconds')), finetuned: mean(pick('finetunedSeconds')), scratch: mean(pick('scratchSeconds')) } };
});
const lines = [
  `Fashion-MNIST 0-4 → 5-9, small CNN, ${epochs} epochs max (early stopping, patience 3), seeds ${seeds.join(',')}; test accuracy on the 5,000 test images of 5-9, mean ± sd`,
  '',
  '| labels/class | transfer, conv frozen | transfer + fine-tuning | from scratch | best − scratch | beats by > spread | wall s (frozen / fine-tuned / scratch) |',
  '|---|---|---|---|---|---|---|',
  ...summary.map((s) => `| ${s.budget} | ${pm(s.frozen)} | ${pm(s.finetuned)} | ${pm(s.scratch)} | ${(s.margin * 100).toFixed(2)} (${s.best}) | ${s.beats ? 'yes' : 'no'} (spread ${(s.spread * 100).toFixed(2)}) | ${s.seconds.frozen.toFixed(1)} / ${s.seconds.finetuned.toFixed(1)} / ${s.seconds.scratch.toFixed(1)} |`),
  '',
  `Source models (0-4, all labels, 3 epochs): ${sources.map((s) => `seed ${s.seed} ${(s.accuracy * 100).toFixed(2)}% in ${s.seconds.toFixed(0)} s`).join('; ')}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await mkdir(join(BENCH, 'results'), { recursive: true });
const file = join(BENCH, 'results', `transfer-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, `${JSON.stringify({ machine: await machine({}), epochs, seeds, budgets, sources, rows, summary, table: lines }, null, 2)}\n`);
log(`results in ${file}`);
