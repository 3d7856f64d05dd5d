/**
 * What MLflow tracking costs a run: the same 20-epoch run (Fashion-MNIST classes 5-9, small CNN,
 * 300 labels per class, early stopping off) with tracking off and with tracking to a real local
 * `mlflow server` through a counting proxy, and with MLflow's local-store default (a private server
 * started for the run), in the same process tree on the same machine.
 *
 *   node --import tsx bench/tracking.ts [--repeats 3] [--out tracking]
 *
 * Prints a table and writes bench/results/<out>.json.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childEnv, REPO, runCli } from '../test/support/cli.js';
import { startFlakyProxy } from '../test/support/flaky-proxy.js';
import { startTestServer } from '../test/support/mlflow-server.js';

const repeats = Number(process.argv[process.argv.indexOf('--repeats') + 1] ?? '3') || 3;
const out = process.argv.includes('--out') ? (process.argv[process.argv.indexOf('--out') + 1] ?? 'tracking') : 'tracking';
const work = await mkdtemp(join(tmpdir(), 'transferkit-bench-tracking-'));
const args = (out: string) => [
  'train', '--dataset', 'fashion-mnist', '--classes', '5-9', '--backbone', 'small-cnn', '--weights', 'none',
  '--retrained_conv_layers', 'all', '--samples_per_class', '300', '--max_epochs', '20', '--use_early_stop', '0', '--output_dir', out,
];

async function timed(env: Record<string, string | undefined>, out: string): Promise<number> {
  const t0 = performance.now();
  const res = await runCli(args(out), env);
  if (res.exitCode !== 0) throw new Error(`run failed:\n${res.stderr.slice(-2000)}`);
  return (performance.now() - t0) / 1000;
}

const server = await startTestServer();
const proxy = await startFlakyProxy({ target: server.url });
const rows: { mode: string; seconds: number; requests?: number }[] = [];
try {
  for (let i = 0; i < repeats; i++) {
    rows.push({ mode: 'off', seconds: await timed(childEnv({ TRANSFERKIT_TRACKING: 'off' }), join(work, `off-${i}`)) });
    const before = proxy.stats.requests;
    const seconds = await timed(childEnv({ MLFLOW_TRACKING_URI: proxy.url, MLFLOW_EXPERIMENT_NAME: 'bench-tracking' }), join(work, `on-${i}`));
    rows.push({ mode: 'mlflow', seconds, requests: proxy.stats.requests - before });
    const store = `sqlite:///${join(work, `store-${i}.db`)}`;
    rows.push({ mode: 'local-store', seconds: await timed(childEnv({ MLFLOW_TRACKING_URI: store, HOME: process.env['HOME'] }), join(work, `local-${i}`)) });
  }
} finally {
  await proxy.close();
  await server.stop();
  await rm(work, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const off = median(rows.filter((r) => r.mode === 'off').map((r) => r.seconds));
const on = median(rows.filter((r) => r.mode === 'mlflow').map((r) => r.seconds));
const local = median(rows.filter((r) => r.mode === 'local-store').map((r) => r.seconds));
const requests = median(rows.filter((r) => r.mode === 'mlflow').map((r) => r.requests ?? 0));
const git = (...args: string[]) => execFileSync('git', ['-C', REPO, ...args], { encoding: 'utf8' }).trim();
const command = `node --import tsx bench/tracking.ts ${process.argv.slice(2).join(' ')}`.trim();
const summary = { command, commit: git('rev-parse', '--short', 'HEAD'), dirty: git('status', '--porcelain', '--', 'src', 'bench', ':!bench/results') !== '', date: new Date().toISOString(), repeats, seconds_off: off, seconds_mlflow: on, seconds_local_store: local, overhead_seconds: on - off, ratio: on / off, rest_requests: requests, rows };
console.log('| tracking | wall time (median of %d) | REST requests |', repeats);
console.log('|---|---|---|');
console.log(`| off | ${off.toFixed(2)} s | 0 |`);
console.log(`| MLflow server | ${on.toFixed(2)} s (${(on / off).toFixed(2)}×, +${(on - off).toFixed(2)} s) | ${requests} |`);
console.log(`| local store (private server started for the run) | ${local.toFixed(2)} s (${(local / off).toFixed(2)}×, +${(local - off).toFixed(2)} s) | same |`);
await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
await writeFile(join(REPO, 'bench', 'results', `${out}.json`), `${JSON.stringify(summary, null, 2)}\n`);
