/**
 * `transferkit serve` under load from loopback clients, side by side with `mlflow models serve`
 * (--env-manager local, the venv's MLflow) on the SAME model folder and the SAME request bodies
 * (issue 13, "Benchmark").
 *
 *   node --import tsx bench/serve-load.ts [--model DIR] [--batches 1,16] [--concurrency 1,8]
 *        [--requests 300] [--seconds 40] [--warmup 8] [--bodies 8] [--mlflow-workers N] [--out NAME] [--keep]
 *
 * Without --model it trains a small real model first (Fashion-MNIST classes 0-4, small CNN from
 * scratch, 100 labels per class, 2 epochs, tracking off) and writes the folder's MLflow Model files
 * (MLmodel, env files, input example) the way a tracked run does (src/tracking/mlmodel.ts +
 * model-env.ts): with tracking off the CLI writes only model.json/weights.bin/model.h5/transferkit.json.
 * A --model folder without an MLmodel is copied to the work folder and gets the same files.
 *
 * Both servers run on 127.0.0.1 for the whole benchmark, each in its own process group. For every
 * configuration (B images per request, C concurrent keep-alive clients) the harness sends the same
 * pre-built `{"inputs": [...]}` bodies (real Fashion-MNIST test images as raw RGB pixels 0-255 at the
 * model's input size) to transferkit, then mlflow, then mlflow again and transferkit again (pass 2,
 * reverse order: drift shows as a pass-1/pass-2 difference). Each run is a bounded number of requests
 * and a time cap, after a few unmeasured warm-up requests. A failure is a non-200 answer, a body that
 * is not `{"predictions": number[][]}`, or a wrong number of rows or columns; every answer is also
 * compared with the other server's answer to the same body (max |diff| must stay ≤ 1e-4).
 *
 * Peak RSS: VmHWM from /proc/<pid>/status of every process in each server's tree (the launched
 * process and all its descendants; `mlflow models serve` runs uvicorn as a child), polled every
 * 200 ms so processes that exit are counted too. Reported as the tree's sum (what the server costs
 * the machine, an upper bound: each process's own peak) and as the largest single process.
 *
 * Writes bench/results/<out>.json and <out>.md (default serve-load) and prints the table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { z } from 'zod';
import { findFreePort } from '../src/tracking/local-server.js';
import { mlmodelInfo, writeMlflowModel } from '../src/tracking/mlmodel.js';
import { MODEL_RUNTIME } from '../src/tracking/model-env.js';
import { VERSION } from '../src/version.js';
import { BENCH, childEnv, CLI, machine, PYTHON, REPO, runMeasured, runText } from './speed-support.js';

// --- options ----------------------------------------------------------------------------------

const argv = process.argv.slice(2);
function opt(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}
function intList(name: string, fallback: number[]): number[] {
  const raw = opt(name);
  if (raw === undefined) return fallback;
  const list = raw.split(',').map((s) => Number(s.trim()));
  if (list.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`--${name} ${raw}: expected positive integers separated by commas`);
  return list;
}
function intOpt(name: string, fallback: number): number {
  const raw = opt(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} ${String(raw)}: expected a positive integer`);
  return n;
}
const BATCHES = intList('batches', [1, 16]);
const CONCURRENCY = intList('concurrency', [1, 8]);
const REQUESTS = intOpt('requests', 300);
const SECONDS = intOpt('seconds', 40);
const WARMUP = intOpt('warmup', 8);
const BODIES = intOpt('bodies', 8);
const MLFLOW_WORKERS = opt('mlflow-workers');
const OUT = opt('out') ?? 'serve-load';
const KEEP = argv.includes('--keep');
const MODEL_ARG = opt('model');
const TOLERANCE = 1e-4;
const DATASET_DIR = '/usr/share/datasets/fashion-mnist';
const VENV_BIN = join(REPO, '.venv', 'bin');

const log = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms));

// --- the model ----------------------------------------------------------------------------------

const transferkitJson = z.object({
  input_size: z.number().int().positive(),
  class_names: z.array(z.string()).min(1),
});
type ModelInfo = z.infer<typeof transferkitJson>;

const TRAIN_ARGS = [
  'train', '--dataset', 'fashion-mnist', '--classes', '0-4', '--backbone', 'small-cnn', '--weights', 'none',
  '--retrained_conv_layers', 'all', '--samples_per_class', '100', '--max_epochs', '2', '--seed', '42',
];

async function mlflowVersion(): Promise<string> {
  const out = (await runText(PYTHON, ['-c', 'import mlflow; print(mlflow.__version__)'])).trim();
  return /^\d+\.\d+/.test(out) ? out : MODEL_RUNTIME.mlflow;
}

interface PreparedModel {
  readonly dir: string;
  readonly info: ModelInfo;
  readonly trained: { readonly args: readonly string[]; readonly seconds: number; readonly testAccuracy: number | null } | null;
  readonly mlmodelWritten: boolean;
}

async function prepareModel(work: string): Promise<PreparedModel> {
  let dir: string;
  let trained: PreparedModel['trained'] = null;
  if (MODEL_ARG === undefined) {
    const out = join(work, 'train');
    const args = [...TRAIN_ARGS, '--output_dir', out];
    log(`training the model: node dist/entry/cli.js ${args.join(' ')}`);
    const run = await runMeasured(process.execPath, [CLI, ...args], childEnv({ TRANSFERKIT_TRACKING: 'off' }));
    if (run.exitCode !== 0) throw new Error(`training failed (exit ${String(run.exitCode)}):\n${run.stderr.slice(-3000)}`);
    const metrics = z.object({ test: z.object({ accuracy: z.number() }) }).safeParse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
    const acc = metrics.success ? metrics.data.test.accuracy : null;
    trained = { args: TRAIN_ARGS, seconds: run.wallSeconds, testAccuracy: acc };
    dir = join(out, 'model');
  } else {
    dir = resolve(MODEL_ARG);
  }
  const info = transferkitJson.parse(JSON.parse(await readFile(join(dir, 'transferkit.json'), 'utf8')));
  let mlmodelWritten = false;
  if (!existsSync(join(dir, 'MLmodel'))) {
    if (MODEL_ARG !== undefined) {
      const copy = join(work, 'model');
      await cp(dir, copy, { recursive: true });
      dir = copy;
    }
    const version = await mlflowVersion();
    const mi = mlmodelInfo({
      artifactPath: 'model',
      now: Date.now(),
      transferkitVersion: VERSION,
      tfjsVersion: '4.22.0',
      classNames: info.class_names,
      inputSize: info.input_size,
    });
    await writeMlflowModel(dir, { info: mi, inputSize: info.input_size, classes: info.class_names.length, mlflowVersion: version });
    mlmodelWritten = true;
  }
  return { dir, info, trained, mlmodelWritten };
}

// --- request bodies -------------------------------------------------------------------------------

/** `count` Fashion-MNIST test images (grey, 28×28), nearest-neighbour resized to `size`, as RGB rows. */
async function images(count: number, size: number): Promise<number[][][][]> {
  const raw = gunzipSync(await readFile(join(DATASET_DIR, 't10k-images-idx3-ubyte.gz')));
  const n = raw.readUInt32BE(4);
  const h = raw.readUInt32BE(8);
  const w = raw.readUInt32BE(12);
  const out: number[][][][] = [];
  for (let k = 0; k < count; k++) {
    const base = 16 + ((k * 37) % n) * h * w; // spread over the test set, deterministic
    const img: number[][][] = [];
    for (let y = 0; y < size; y++) {
      const row: number[][] = [];
      const sy = Math.min(h - 1, Math.floor(((y + 0.5) * h) / size));
      for (let x = 0; x < size; x++) {
        const sx = Math.min(w - 1, Math.floor(((x + 0.5) * w) / size));
        const v = raw[base + sy * w + sx] ?? 0;
        row.push([v, v, v]);
      }
      img.push(row);
    }
    out.push(img);
  }
  return out;
}

interface Body {
  readonly text: string;
  readonly rows: number;
}

async function bodies(batch: number, count: number, size: number): Promise<Body[]> {
  const pool = await images(batch * count, size);
  return Array.from({ length: count }, (_, i) => ({ text: JSON.stringify({ inputs: pool.slice(i * batch, (i + 1) * batch) }), rows: batch }));
}

// --- servers ---------------------------------------------------------------------------------------

type ServerName = 'transferkit' | 'mlflow';

interface Server {
  readonly name: ServerName;
  readonly command: string;
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Per-pid VmHWM (kB) seen so far, over the whole tree. */
  readonly hwm: Map<number, { kb: number; cmd: string }>;
  exited: number | null | undefined;
  exitedPromise: Promise<void>;
}

async function children(pid: number): Promise<number[]> {
  const out: number[] = [];
  const entries = await readdir('/proc').catch(() => [] as string[]);
  const parent = new Map<number, number>();
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const stat = await readFile(`/proc/${e}/stat`, 'utf8').catch(() => '');
    const m = /\) \S+ (\d+)/.exec(stat);
    if (m?.[1] !== undefined) parent.set(Number(e), Number(m[1]));
  }
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop();
    if (p === undefined) break;
    out.push(p);
    for (const [c, pp] of parent) if (pp === p) stack.push(c);
  }
  return out;
}

async function treeSnapshot(root: number): Promise<{ pid: number; hwmKB: number; cpuTicks: number; cmd: string }[]> {
  const rows: { pid: number; hwmKB: number; cpuTicks: number; cmd: string }[] = [];
  for (const pid of await children(root)) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter((s) => s !== '').join(' ');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // after "pid (comm) ": state ppid … utime is field 14 overall = index 11 here, stime index 12
    const cpuTicks = Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
    const hwmKB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    if (status !== '') rows.push({ pid, hwmKB, cpuTicks, cmd: cmd.slice(0, 160) });
  }
  return rows;
}

async function pollRss(server: Server): Promise<void> {
  if (server.child.pid === undefined || server.exited !== undefined) return;
  for (const row of await treeSnapshot(server.child.pid)) {
    const seen = server.hwm.get(row.pid);
    if (seen === undefined || row.hwmKB > seen.kb) server.hwm.set(row.pid, { kb: row.hwmKB, cmd: row.cmd });
  }
}

async function treeCpuSeconds(server: Server): Promise<number> {
  if (server.child.pid === undefined) return Number.NaN;
  return (await treeSnapshot(server.child.pid)).reduce((a, r) => a + r.cpuTicks, 0) / 100;
}

function startServer(name: ServerName, file: string, args: readonly string[], env: Record<string, string | undefined>, port: number, logFile: string): Server {
  const out = createWriteStream(logFile);
  const child = spawn(file, args, { cwd: REPO, env: env as NodeJS.ProcessEnv, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const server: Server = {
    name,
    command: [file === process.execPath ? 'node' : file.replace(`${REPO}`, ''), ...args.map((a) => a.replace(`${REPO}`, ''))].join(' '),
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    logFile,
    hwm: new Map(),
    exited: undefined,
    exitedPromise: Promise.resolve(),
  };
  server.exitedPromise = new Promise<void>((done) =>
    child.on('exit', (code) => {
      server.exited = code;
      done();
    }),
  );
  return server;
}

async function waitForPing(server: Server, maxSeconds: number): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < maxSeconds * 1000) {
    if (server.exited !== undefined) throw new Error(`${server.name} exited with ${String(server.exited)} before /ping answered; log: ${server.logFile}\n${(await readFile(server.logFile, 'utf8').catch(() => '')).slice(-3000)}`);
    const ok = await fetch(`${server.url}/ping`).then((r) => r.ok, () => false);
    if (ok) return (performance.now() - t0) / 1000;
    await sleep(250);
  }
  throw new Error(`${server.name} did not answer /ping within ${maxSeconds} s; log: ${server.logFile}`);
}

async function stopServer(server: Server): Promise<void> {
  const pid = server.child.pid;
  if (pid === undefined || server.exited !== undefined) return;
  try {
    process.kill(-pid, 'SIGTERM');
  } catch {
    return;
  }
  const ended = await Promise.race([server.exitedPromise.then(() => true), sleep(15_000).then(() => false)]);
  if (!ended) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await server.exitedPromise;
  // the group may outlive its leader (uvicorn under the mlflow CLI): end what is left of it
  await sleep(300);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // no process left in the group
  }
}

// --- load -------------------------------------------------------------------------------------------

const scoringAnswer = z.object({ predictions: z.array(z.array(z.number())) });

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly ms: number;
}

function post(agent: Agent, server: Server, body: string): Promise<Answer> {
  return new Promise((done) => {
    const t0 = performance.now();
    const req = request(
      { host: '127.0.0.1', port: server.port, path: '/invocations', method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - t0 }));
        res.on('error', (e: Error) => done({ status: 0, text: e.message, ms: performance.now() - t0 }));
      },
    );
    req.setTimeout(120_000, () => req.destroy(new Error('timeout after 120 s')));
    req.on('error', (e: Error) => done({ status: 0, text: e.message, ms: performance.now() - t0 }));
    req.end(body);
  });
}

type Check = { ok: true; rows: number[][] } | { ok: false; reason: string };

function check(answer: Answer, body: Body, classes: number): Check {
  if (answer.status !== 200) return { ok: false, reason: `HTTP ${answer.status}: ${answer.text.slice(0, 200)}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.text);
  } catch {
    return { ok: false, reason: `not JSON: ${answer.text.slice(0, 200)}` };
  }
  const r = scoringAnswer.safeParse(parsed);
  if (!r.success) return { ok: false, reason: `not {"predictions": number[][]}: ${answer.text.slice(0, 200)}` };
  const rows = r.data.predictions;
  if (rows.length !== body.rows) return { ok: false, reason: `${rows.length} rows for ${body.rows} images` };
  if (rows.some((row) => row.length !== classes)) return { ok: false, reason: `a row without ${classes} columns` };
  return { ok: true, rows };
}

function maxDiff(a: number[][], b: number[][]): number {
  let d = 0;
  a.forEach((row, i) => row.forEach((v, j) => (d = Math.max(d, Math.abs(v - (b[i]?.[j] ?? Number.NaN))))));
  return Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
}

/** Machine-wide CPU ticks (busy, total) from /proc/stat. */
async function procStat(): Promise<{ busy: number; total: number }> {
  const v = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

interface RunResult {
  readonly server: ServerName;
  readonly batch: number;
  readonly concurrency: number;
  readonly pass: 1 | 2;
  readonly requests: number;
  readonly failures: number;
  readonly failureExamples: string[];
  /** Answers whose predictions differ from the other server's answer to the same body by more than TOLERANCE. */
  readonly disagreements: number;
  readonly maxAbsDiff: number;
  readonly seconds: number;
  readonly cappedByTime: boolean;
  readonly requestsPerSecond: number;
  readonly imagesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  /** CPU seconds of the server's process tree during the run, per request (ms). */
  readonly serverCpuMsPerRequest: number;
  /** Share of the whole machine's CPU busy during the run (this bench, both servers and everyone else). */
  readonly machineBusy: number;
  readonly latenciesMs: number[];
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

async function loadRun(
  server: Server,
  pool: readonly Body[],
  reference: ReadonlyMap<Body, number[][]>,
  classes: number,
  batch: number,
  concurrency: number,
  pass: 1 | 2,
): Promise<RunResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  try {
    // warm-up: connections opened, the server's first passes of this shape done; not measured
    let w = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (w < Math.max(WARMUP, concurrency)) {
        const body = pool[w++ % pool.length];
        if (body !== undefined) await post(agent, server, body.text);
      }
    }));
    const latencies: number[] = [];
    const failureExamples: string[] = [];
    let failures = 0;
    let disagreements = 0;
    let worst = 0;
    let next = 0;
    let capped = false;
    const cpu0 = await treeCpuSeconds(server);
    const stat0 = await procStat();
    const t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      for (;;) {
        if (next >= REQUESTS) return;
        if (performance.now() >= deadline) {
          capped = true;
          return;
        }
        const body = pool[next++ % pool.length];
        if (body === undefined) return;
        const answer = await post(agent, server, body.text);
        latencies.push(answer.ms);
        const c = check(answer, body, classes);
        if (!c.ok) {
          failures++;
          if (failureExamples.length < 5) failureExamples.push(c.reason);
          continue;
        }
        const ref = reference.get(body);
        if (ref !== undefined) {
          const d = maxDiff(c.rows, ref);
          worst = Math.max(worst, d);
          if (d > TOLERANCE) disagreements++;
        }
      }
    }));
    const seconds = (performance.now() - t0) / 1000;
    const stat1 = await procStat();
    const cpu1 = await treeCpuSeconds(server);
    await pollRss(server);
    const sorted = [...latencies].sort((a, b) => a - b);
    const n = latencies.length;
    return {
      server: server.name,
      batch,
      concurrency,
      pass,
      requests: n,
      failures,
      failureExamples,
      disagreements,
      maxAbsDiff: worst,
      seconds,
      cappedByTime: capped,
      requestsPerSecond: (n - failures) / seconds,
      imagesPerSecond: ((n - failures) * batch) / seconds,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      meanMs: n === 0 ? Number.NaN : latencies.reduce((a, b) => a + b, 0) / n,
      serverCpuMsPerRequest: n === 0 ? Number.NaN : ((cpu1 - cpu0) * 1000) / n,
      machineBusy: stat1.total === stat0.total ? Number.NaN : (stat1.busy - stat0.busy) / (stat1.total - stat0.total),
      latenciesMs: latencies,
    };
  } finally {
    agent.destroy();
  }
}

// --- main --------------------------------------------------------------------------------------------

const work = await mkdtemp(join(tmpdir(), 'transferkit-bench-serve-'));
const started: Server[] = [];
const onSignal = (): void => {
  for (const s of started) if (s.child.pid !== undefined && s.exited === undefined) {
    try {
      process.kill(-s.child.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  process.exit(130);
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const command = `node --import tsx bench/serve-load.ts${argv.length > 0 ? ` ${argv.join(' ')}` : ''}`;
const commit = (await runText('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'])).trim();
const dirty = (await runText('git', ['-C', REPO, 'status', '--porcelain', '--untracked-files=no'])).trim() !== '';
const t00 = performance.now();
const loadAtStart = loadavg().map((x) => Math.round(x * 100) / 100);

try {
  const model = await prepareModel(work);
  const classes = model.info.class_names.length;
  log(`model: ${model.dir} (${model.info.input_size}×${model.info.input_size}×3, ${classes} classes${model.mlmodelWritten ? ', MLmodel written by the bench' : ''})`);

  const [tkPort, mlPort] = [await findFreePort(), await findFreePort()];
  const tk = startServer(
    'transferkit',
    process.execPath,
    [CLI, 'serve', '--model', model.dir, '--port', String(tkPort), '--host', '127.0.0.1'],
    childEnv({ TRANSFERKIT_TRACKING: 'off' }),
    tkPort,
    join(work, 'transferkit-serve.log'),
  );
  started.push(tk);
  const mlEnv = childEnv({ PATH: `${VENV_BIN}:${process.env['PATH'] ?? ''}`, ...(MLFLOW_WORKERS === undefined ? {} : { MLFLOW_MODELS_WORKERS: MLFLOW_WORKERS }) });
  const ml = startServer(
    'mlflow',
    join(VENV_BIN, 'mlflow'),
    ['models', 'serve', '-m', model.dir, '--env-manager', 'local', '-h', '127.0.0.1', '-p', String(mlPort)],
    mlEnv,
    mlPort,
    join(work, 'mlflow-serve.log'),
  );
  started.push(ml);
  const poller = setInterval(() => {
    void pollRss(tk);
    void pollRss(ml);
  }, 200);
  try {
    const [tkReady, mlReady] = await Promise.all([waitForPing(tk, 300), waitForPing(ml, 300)]);
    log(`/ping: transferkit after ${tkReady.toFixed(1)} s, mlflow after ${mlReady.toFixed(1)} s`);
    const servers = { transferkit: tk, mlflow: ml };

    const runs: RunResult[] = [];
    const agreement: { batch: number; bodies: number; maxAbsDiff: number }[] = [];
    for (const batch of BATCHES) {
      const pool = await bodies(batch, BODIES, model.info.input_size);
      // the reference: each body once through both servers; they must agree
      const refs = new Map<ServerName, Map<Body, number[][]>>([['transferkit', new Map()], ['mlflow', new Map()]]);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      let worst = 0;
      for (const body of pool) {
        const got: Partial<Record<ServerName, number[][]>> = {};
        for (const s of [tk, ml]) {
          const c = check(await post(agent, s, body.text), body, classes);
          if (!c.ok) throw new Error(`${s.name} did not score a ${batch}-image body: ${c.reason}`);
          got[s.name] = c.rows;
        }
        const a = got.transferkit;
        const b = got.mlflow;
        if (a === undefined || b === undefined) throw new Error('unreachable: both servers answered');
        worst = Math.max(worst, maxDiff(a, b));
        // each server's answers are checked against the OTHER server's answer to the same body
        refs.get('transferkit')?.set(body, b);
        refs.get('mlflow')?.set(body, a);
      }
      agent.destroy();
      agreement.push({ batch, bodies: pool.length, maxAbsDiff: worst });
      log(`B=${batch}: ${pool.length} bodies of ${(Buffer.byteLength(pool[0]?.text ?? '') / 1024).toFixed(0)} KiB; max |transferkit - mlflow| = ${worst.toExponential(2)}${worst > TOLERANCE ? '  (ABOVE 1e-4)' : ''}`);
      for (const concurrency of CONCURRENCY) {
        const order: [ServerName, 1 | 2][] = [['transferkit', 1], ['mlflow', 1], ['mlflow', 2], ['transferkit', 2]];
        for (const [name, pass] of order) {
          const r = await loadRun(servers[name], pool, refs.get(name) ?? new Map(), classes, batch, concurrency, pass);
          runs.push(r);
          log(
            `  B=${batch} C=${concurrency} ${name.padEnd(11)} pass ${pass}: ${r.requests} req in ${r.seconds.toFixed(1)} s${r.cappedByTime ? ' (time cap)' : ''}, ` +
              `${r.requestsPerSecond.toFixed(1)} req/s, ${r.imagesPerSecond.toFixed(0)} img/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, ` +
              `${r.failures} failed, ${r.disagreements} disagree, server CPU ${r.serverCpuMsPerRequest.toFixed(1)} ms/req, machine ${(r.machineBusy * 100).toFixed(0)}% busy`,
          );
        }
      }
    }
    clearInterval(poller);
    await pollRss(tk);
    await pollRss(ml);

    // --- summary ---
    const rss = (s: Server) => {
      const procs = [...s.hwm.entries()].map(([pid, v]) => ({ pid, peak_mb: v.kb / 1024, cmd: v.cmd }));
      return {
        tree_sum_mb: procs.reduce((a, p) => a + p.peak_mb, 0),
        largest_process_mb: Math.max(0, ...procs.map((p) => p.peak_mb)),
        processes: procs,
      };
    };
    const peakRss = { transferkit: rss(tk), mlflow: rss(ml) };
    const pooled = (list: RunResult[]) => {
      const ok = list.reduce((a, r) => a + r.requests - r.failures, 0);
      const secs = list.reduce((a, r) => a + r.seconds, 0);
      const lat = list.flatMap((r) => r.latenciesMs).sort((a, b) => a - b);
      const batch = list[0]?.batch ?? 0;
      return {
        requests: list.reduce((a, r) => a + r.requests, 0),
        failures: list.reduce((a, r) => a + r.failures, 0),
        disagreements: list.reduce((a, r) => a + r.disagreements, 0),
        requests_per_s: ok / secs,
        images_per_s: (ok * batch) / secs,
        p50_ms: percentile(lat, 50),
        p99_ms: percentile(lat, 99),
        server_cpu_ms_per_request: list.reduce((a, r) => a + r.serverCpuMsPerRequest * r.requests, 0) / Math.max(1, list.reduce((a, r) => a + r.requests, 0)),
        pass_requests_per_s: list.map((r) => r.requestsPerSecond),
        pass_p99_ms: list.map((r) => r.p99Ms),
      };
    };
    const summary = BATCHES.flatMap((batch) =>
      CONCURRENCY.map((concurrency) => {
        const of = (name: ServerName) => pooled(runs.filter((r) => r.server === name && r.batch === batch && r.concurrency === concurrency).sort((a, b) => a.pass - b.pass));
        const t = of('transferkit');
        const m = of('mlflow');
        const pass = (p: 1 | 2) => {
          const get = (name: ServerName) => runs.find((r) => r.server === name && r.batch === batch && r.concurrency === concurrency && r.pass === p);
          const a = get('transferkit');
          const b = get('mlflow');
          return a === undefined || b === undefined ? Number.NaN : a.requestsPerSecond / b.requestsPerSecond;
        };
        return {
          batch,
          concurrency,
          transferkit: t,
          mlflow: m,
          ratio_throughput: t.requests_per_s / m.requests_per_s,
          ratio_p99: t.p99_ms / m.p99_ms,
          ratio_throughput_pass1: pass(1),
          ratio_throughput_pass2: pass(2),
        };
      }),
    );
    const totalFailures = runs.reduce((a, r) => a + r.failures, 0);
    const totalDisagreements = runs.reduce((a, r) => a + r.disagreements, 0);
    const mach = await machine({ tfjs: '4.22.0' });
    const mlVer = await mlflowVersion();

    const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '—');
    const table = [
      '| B img/req | C clients | transferkit req/s (img/s) | mlflow req/s (img/s) | **throughput tk/mlflow** (pass 1, pass 2) | transferkit p50 / p99 ms | mlflow p50 / p99 ms | **p99 tk/mlflow** | server CPU ms/req tk / mlflow | failed tk / mlflow |',
      '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...summary.map(
        (s) =>
          `| ${s.batch} | ${s.concurrency} | ${f(s.transferkit.requests_per_s)} (${f(s.transferkit.images_per_s, 0)}) | ${f(s.mlflow.requests_per_s)} (${f(s.mlflow.images_per_s, 0)}) | ` +
          `**${f(s.ratio_throughput, 2)}×** (${f(s.ratio_throughput_pass1, 2)}, ${f(s.ratio_throughput_pass2, 2)}) | ${f(s.transferkit.p50_ms)} / ${f(s.transferkit.p99_ms)} | ${f(s.mlflow.p50_ms)} / ${f(s.mlflow.p99_ms)} | ` +
          `**${f(s.ratio_p99, 2)}** | ${f(s.transferkit.server_cpu_ms_per_request)} / ${f(s.mlflow.server_cpu_ms_per_request)} | ${s.transferkit.failures} / ${s.mlflow.failures} |`,
      ),
    ];
    const rssTable = [
      '| server | peak RSS, tree sum (MB) | largest process (MB) | processes |',
      '|---|---:|---:|---|',
      ...(['transferkit', 'mlflow'] as const).map((name) => {
        const r = peakRss[name];
        return `| ${name} | ${f(r.tree_sum_mb, 0)} | ${f(r.largest_process_mb, 0)} | ${r.processes.map((p) => `${p.cmd.split(' ').slice(0, 3).join(' ').replace(REPO, '')} ${f(p.peak_mb, 0)} MB`).join('; ')} |`;
      }),
    ];
    const minutes = (performance.now() - t00) / 60_000;
    const capped = runs.filter((r) => r.cappedByTime);
    const busyAll = runs.reduce((a, r) => a + r.machineBusy * r.seconds, 0) / runs.reduce((a, r) => a + r.seconds, 0);

    const json = {
      command,
      commit,
      dirty,
      machine: { ...mach, mlflow: mlVer },
      minutes,
      model: {
        dir: MODEL_ARG ?? '(trained by the bench in a temporary folder)',
        trained: model.trained,
        input_size: model.info.input_size,
        classes: model.info.class_names,
        mlmodel_written_by_bench: model.mlmodelWritten,
      },
      servers: {
        transferkit: { command: tk.command, ready_seconds: tkReady },
        mlflow: { command: ml.command, ready_seconds: mlReady, workers: MLFLOW_WORKERS ?? '1 (MLflow default)' },
      },
      settings: { batches: BATCHES, concurrency: CONCURRENCY, requests_per_run: REQUESTS, seconds_cap_per_run: SECONDS, warmup_requests: WARMUP, bodies_per_batch: BODIES, tolerance: TOLERANCE, order: 'per configuration: transferkit, mlflow (pass 1), mlflow, transferkit (pass 2)' },
      agreement,
      failures: totalFailures,
      disagreements: totalDisagreements,
      machine_busy_mean: busyAll,
      load_average_at_start: loadAtStart,
      summary,
      peak_rss_mb: peakRss,
      runs: runs.map(({ latenciesMs: _l, ...r }) => r),
      table,
      rss_table: rssTable,
    };
    await mkdir(join(BENCH, 'results'), { recursive: true });
    await writeFile(join(BENCH, 'results', `${OUT}.json`), `${JSON.stringify(json, null, 2)}\n`);

    const machineLine = `${mach.cpu_model}, ${mach.cpus} cores (${mach.cpu_flags_simd}), ${mach.ram_gb} GB RAM, ${mach.kernel}, Node ${mach.node}, tfjs 4.22.0 (tfjs-node), MLflow ${mlVer} (Python TensorFlow ${MODEL_RUNTIME.tensorflow})`;
    const md = [
      '# `transferkit serve` vs `mlflow models serve` under load',
      '',
      `Measured at commit \`${commit}\`${dirty ? ' (with uncommitted changes)' : ''} in ${minutes.toFixed(1)} min on: ${machineLine}.`,
      '',
      '```sh',
      command,
      '```',
      '',
      `**The machine was busy with other work during this run** (other sessions' jobs on the same ${mach.cpus} cores: load average ${loadAtStart.join(', ')} when the bench started; the whole machine's CPU was ${(busyAll * 100).toFixed(0)}% busy on average while the load ran, this bench and both servers included). Absolute figures are therefore low and noisy; what counts are the ratios within this one run, where both servers see the same conditions: each configuration runs transferkit, mlflow, mlflow, transferkit back to back, and the pass-1 and pass-2 ratios show how much the conditions drifted.`,
      '',
      `Model: ${model.trained === null ? `\`${MODEL_ARG ?? ''}\`` : `trained by the bench, \`node dist/entry/cli.js ${model.trained.args.join(' ')}\` (tracking off, test accuracy ${model.trained.testAccuracy === null ? '?' : `${(model.trained.testAccuracy * 100).toFixed(1)}%`})`}: input ${model.info.input_size}×${model.info.input_size}×3 raw pixels, ${classes} classes.${model.mlmodelWritten ? ' With tracking off the CLI writes no MLmodel, so the bench wrote the folder\'s MLflow Model files with `writeMlflowModel` (src/tracking/mlmodel.ts, the same code a tracked run uses): `python_function` over MLflow\'s `tensorflow` flavor on the folder\'s `model.h5`.' : ''}`,
      '',
      'Servers, both on 127.0.0.1, both serving the same folder:',
      '',
      `- transferkit: \`${tk.command}\` (micro-batching up to max_batch 32)`,
      `- mlflow: \`${ml.command}\` (.venv/bin first on PATH; uvicorn, ${MLFLOW_WORKERS ?? "1 worker, MLflow's default"})`,
      '',
      `Load: for each B (images per request) and C (concurrent keep-alive clients in the bench process, node:http), ${BODIES} pre-built bodies \`{"inputs": [...]}\` of B real Fashion-MNIST test images (raw pixels 0-255, grey repeated into RGB), cycled; ${WARMUP} unmeasured warm-up requests, then ${REQUESTS} requests or ${SECONDS} s, whichever comes first, per server and pass. Throughput counts successful requests over the run's wall time; p50/p99 are over both passes' latencies (send to last byte). A failure is a non-200, a body that is not \`{"predictions": number[][]}\`, or wrong rows/columns. Every answer is compared with the other server's answer to the same body. "Server CPU" is the CPU time of the server's process tree during the run, per request.`,
      '',
      `Result: **${totalFailures} failed requests, ${totalDisagreements} answers off by more than 1e-4**; the two servers agree to ${Math.max(...agreement.map((a) => a.maxAbsDiff)).toExponential(1)} (max |diff| over all probabilities).`,
      ...(capped.length === 0
        ? []
        : ['', `Runs stopped by the ${SECONDS} s cap before ${REQUESTS} requests (their figures are over the requests they made): ${capped.map((r) => `${r.server} B=${r.batch} C=${r.concurrency} pass ${r.pass}: ${r.requests}`).join('; ')}.`]),
      '',
      'The pass-1 and pass-2 ratios differ where the other work on the machine changed between the runs; "server CPU ms/req" (CPU time the server itself spent per request) depends least on that contention.',
      '',
      ...table,
      '',
      'Ratios: throughput tk/mlflow > 1 means transferkit serves more; p99 tk/mlflow < 1 means transferkit\'s slowest requests are faster.',
      '',
      'Peak RSS over the whole benchmark (VmHWM of every process of the server\'s tree, polled every 200 ms; "tree sum" adds each process\'s own peak, an upper bound of the tree\'s peak; `mlflow models serve` is the `mlflow` CLI process plus the uvicorn it starts):',
      '',
      ...rssTable,
      '',
      `Every run (both passes), the per-process RSS and the settings: \`bench/results/${OUT}.json\`.`,
      '',
    ].join('\n');
    await writeFile(join(BENCH, 'results', `${OUT}.md`), md);
    process.stdout.write(`\n${table.join('\n')}\n\n${rssTable.join('\n')}\n\n${totalFailures} failed, ${totalDisagreements} disagreements; wrote bench/results/${OUT}.json and ${OUT}.md\n`);
  } finally {
    clearInterval(poller);
  }
} finally {
  for (const s of started) await stopServer(s);
  if (!KEEP) await rm(work, { recursive: true, force: true });
  else log(`kept ${work}`);
}
