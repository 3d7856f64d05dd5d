/**
 * What MLflow's local-store default adds to a run: with no MLFLOW_TRACKING_URI, `transferkit train`
 * starts a private `mlflow server` over ./mlflow.db for the run (src/tracking/local-server.ts). The
 * same small job (Fashion-MNIST classes 5-9, small CNN from scratch, 100 labels per class, 5 epochs,
 * no early stopping) runs with TRANSFERKIT_TRACKING=off and with the local-store default, in a fresh
 * folder (a new store: MLflow creates and migrates the database), in one folder whose store
 * already exists, and in a fresh folder without --output_dir (out/RUN_ID: the run waits for its MLflow
 * run once its data is loaded, the others only at their end), interleaved in rotating order so that other jobs on the machine load all modes alike.
 *
 *   node --import tsx bench/local-store.ts [--repeats 3] [--out local-store] [--before DIR [--before-commit SHA]]
 *
 * --before DIR adds a mode: DIR's build (DIR/dist/entry/cli.js, e.g. `git archive` of the commit
 * before a change, built) with a new store, in the same rotation; --before-commit names that commit.
 *
 * Writes bench/results/<out>.{json,md}. Added time = median wall of a mode − median wall off.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CLI, REPO, childEnv, distIsStale, machine, runMeasured, runText, type Measured } from './speed-support.js';

const option = (name: string): string | undefined => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? process.argv[at + 1] : undefined;
};
const repeats = Number(option('--repeats') ?? '3');
if (!Number.isInteger(repeats) || repeats < 1) throw new Error(`--repeats ${String(option('--repeats'))}: expected a whole number ≥ 1`);
/** Another checkout's build (e.g. the commit before a change), run as a fourth mode with a new store. */
const before = option('--before');
const out = option('--out') ?? 'local-store';
const beforeCli = before === undefined ? undefined : join(before, 'dist', 'entry', 'cli.js');
if (beforeCli !== undefined && !existsSync(beforeCli)) throw new Error(`--before ${String(before)}: ${beforeCli} does not exist (build it there first)`);

const JOB = ['--dataset', 'fashion-mnist', '--classes', '5-9', '--backbone', 'small-cnn', '--weights', 'none', '--retrained_conv_layers', 'all',
  '--samples_per_class', '100', '--max_epochs', '5', '--use_early_stop', '0'];
const MODES = ['off', 'local-store, new store', 'local-store, existing store', 'local-store, new store, default output folder', ...(before === undefined ? [] : ['before: local-store, new store'] as const)] as const;
type Mode = (typeof MODES)[number] | 'before: local-store, new store';

const LogLine = z.looseObject({ msg: z.string().optional(), ms: z.number().optional(), waited_ms: z.number().optional() });
function logValue(stderr: string, msg: string, key: 'ms' | 'waited_ms'): number | undefined {
  for (const line of stderr.split('\n')) {
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch {
      continue;
    }
    const parsed = LogLine.safeParse(json);
    if (parsed.success && parsed.data.msg === msg) return parsed.data[key];
  }
  return undefined;
}

if (await distIsStale()) {
  console.log('building dist/ (src/ is newer)');
  await runText('npx', ['tsc', '-p', join(REPO, 'tsconfig.json')]);
}
const work = await mkdtemp(join(tmpdir(), 'transferkit-bench-local-store-'));
const existing = join(work, 'existing');
await mkdir(existing);

async function runJob(mode: Mode, rep: number): Promise<Measured> {
  const cwd = mode === 'local-store, existing store' ? existing : join(work, `${mode.replace(/\W+/g, '-')}-${rep}`);
  await mkdir(cwd, { recursive: true });
  const env = childEnv({ TRANSFERKIT_LOG_FORMAT: 'json', TRANSFERKIT_DEBUG: '1', ...(mode === 'off' ? { TRANSFERKIT_TRACKING: 'off' } : {}) });
  const cli = mode.startsWith('before') && beforeCli !== undefined ? beforeCli : CLI;
  // the default output folder out/RUN_ID: no output_dir, so the folder is named after the run and the run waits for its id after the data
  const outputDir = mode.endsWith('default output folder') ? [] : ['--output_dir', join(work, 'out', `${mode.replace(/\W+/g, '-')}-${rep}`)];
  const res = await runMeasured('node', [cli, 'train', ...JOB, ...outputDir], env, cwd);
  if (res.exitCode !== 0) throw new Error(`${mode} run ${rep} failed (exit ${String(res.exitCode)}):\n${res.stderr.slice(-3000)}`);
  if (mode !== 'off' && !/MLflow run [0-9a-f]{32}/.test(res.stdout)) throw new Error(`${mode} run ${rep} did not name its MLflow run:\n${res.stdout}`);
  return res;
}

interface Row {
  readonly mode: Mode;
  readonly rep: number;
  readonly wall_s: number;
  readonly cpu_s: number;
  readonly cpu_taken_by_others: number;
  /** From the run's own log: the private server's start to /health OK. */
  readonly server_start_ms?: number;
  /** From the run's own log: how long the run stood waiting for the MLflow run (at its end; before the change, once its data was loaded). */
  readonly waited_for_run_ms?: number;
}

const t0 = performance.now();
console.log(`warm-up: a tracked run that creates the existing store in ${existing}`);
await runJob('local-store, existing store', 0);
const rows: Row[] = [];
try {
  for (let rep = 1; rep <= repeats; rep++) {
    const order = MODES.map((_, i) => MODES[(i + rep - 1) % MODES.length] ?? 'off');
    for (const mode of order) {
      const res = await runJob(mode, rep);
      const serverMs = logValue(res.stderr, 'mlflow server is up', 'ms');
      // since the run trains while the server starts, the wait (if any) is at the run's end; before, after the data
      const waited = logValue(res.stderr, 'waited this long for the MLflow run', 'waited_ms') ?? logValue(res.stderr, 'data and weights ready; waited this long for the MLflow run', 'waited_ms');
      const row: Row = {
        mode, rep, wall_s: res.wallSeconds, cpu_s: res.cpuSeconds, cpu_taken_by_others: res.contention,
        ...(serverMs === undefined ? {} : { server_start_ms: serverMs }),
        ...(waited === undefined ? {} : { waited_for_run_ms: waited }),
      };
      rows.push(row);
      console.log(`${mode} #${rep}: ${res.wallSeconds.toFixed(2)} s (others took ${(res.contention * 100).toFixed(0)}% of the CPU)` +
        `${serverMs === undefined ? '' : `, server up in ${(serverMs / 1000).toFixed(2)} s`}${waited === undefined ? '' : `, waited ${(waited / 1000).toFixed(2)} s for it`}`);
    }
  }
} finally {
  await rm(work, { recursive: true, force: true });
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] ?? Number.NaN) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};
const of = (mode: Mode, key: 'wall_s' | 'cpu_taken_by_others' | 'server_start_ms' | 'waited_for_run_ms') =>
  median(rows.filter((r) => r.mode === mode).map((r) => r[key] ?? Number.NaN));
const off = of('off', 'wall_s');
const summary = MODES.map((mode) => ({
  mode,
  median_wall_s: of(mode, 'wall_s'),
  added_s: of(mode, 'wall_s') - off,
  median_cpu_taken_by_others: of(mode, 'cpu_taken_by_others'),
  ...(mode === 'off' ? {} : { median_server_start_s: of(mode, 'server_start_ms') / 1000, median_waited_for_run_s: of(mode, 'waited_for_run_ms') / 1000 }),
}));
const commit = (await runText('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'])).trim();
const dirty = (await runText('git', ['-C', REPO, 'status', '--porcelain', '--', 'src', 'bench', ':!bench/results'])).trim() !== '';
const beforeCommit = option('--before-commit') ?? 'unknown commit';
const command = `node --import tsx bench/local-store.ts --repeats ${repeats}${out === 'local-store' ? '' : ` --out ${out}`}${before === undefined ? '' : ` --before ${before} --before-commit ${beforeCommit}`}`;
const result = { command, commit, dirty, date: new Date().toISOString(), minutes: (performance.now() - t0) / 60000, machine: await machine({}), ...(before === undefined ? {} : { before: { dir: before, commit: beforeCommit } }), job: JOB.join(' '), repeats, summary, rows };

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');
const md = [
  '# What the local-store default adds to a run',
  '',
  `\`${command}\` at commit \`${commit}\`${dirty ? ' (with uncommitted changes in src/ or bench/)' : ''}, ${result.date.slice(0, 16)} UTC, ` +
    `${result.minutes.toFixed(1)} min; ${result.machine.cpus} × ${result.machine.cpu_model}, shared with other jobs (column "others"), so wall times are noisy: ` +
    'the modes ran interleaved in rotating order, and only differences within this run are compared.',
  '',
  `Job: \`transferkit train ${JOB.join(' ')}\`. "new store": a fresh folder per run (MLflow creates ./mlflow.db); ` +
    '"existing store": one folder whose store a warm-up run created. Every run is given `--output_dir` but "default output folder" (out/RUN_ID, named after its MLflow run, ' +
    'the default): it waits for the server once its data is loaded; the others wait, if at all, at their end.' +
    (before === undefined ? '' : ` "before": the build in ${before} (${String(beforeCommit)}), a new store per run.`),
  '',
  `| mode | median wall s (${repeats} runs) | added s vs off | server start s (median) | waited for the MLflow run s (median) | others (median) |`,
  '|---|---:|---:|---:|---:|---:|',
  ...summary.map((s) => `| ${s.mode} | ${f2(s.median_wall_s)} | ${s.mode === 'off' ? '–' : f2(s.added_s)} | ${'median_server_start_s' in s ? f2(s.median_server_start_s) : '–'} | ` +
    `${'median_waited_for_run_s' in s ? f2(s.median_waited_for_run_s) : '–'} | ${(s.median_cpu_taken_by_others * 100).toFixed(0)}% |`),
  '',
  'In words (medians): ' + summary.filter((s) => s.mode !== 'off').map((s) => `${s.mode}: ${f2(s.added_s)} s added` +
    ('median_waited_for_run_s' in s ? `, ${f2(s.median_waited_for_run_s)} s waited for the MLflow run` : '')).join('; ') + '.',
  '',
  'Every run:',
  '',
  '| mode | run | wall s | server start s | waited s | others |',
  '|---|---:|---:|---:|---:|---:|',
  ...rows.map((r) => `| ${r.mode} | ${r.rep} | ${f2(r.wall_s)} | ${r.server_start_ms === undefined ? '–' : f2(r.server_start_ms / 1000)} | ` +
    `${r.waited_for_run_ms === undefined ? '–' : f2(r.waited_for_run_ms / 1000)} | ${(r.cpu_taken_by_others * 100).toFixed(0)}% |`),
  '',
];
await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
await writeFile(join(REPO, 'bench', 'results', `${out}.json`), `${JSON.stringify(result, null, 2)}\n`);
await writeFile(join(REPO, 'bench', 'results', `${out}.md`), md.join('\n'));
console.log(md.join('\n'));
