/**
 * Helpers for bench/speed.ts: the inputs both sides read (a synthetic full-size CIFAR-10 in the
 * official binary format and a VGG16 notop .h5 in Keras's official layout), measured child
 * processes (wall time, peak RSS), the machine, and VGG16's conv FLOPs.
 */
import { spawn } from 'node:child_process';
import { VGG_FILTERS } from '../src/pipeline/model/arch/vgg.js';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BACKBONES } from '../src/pipeline/model/backbones.js';
import { cifarFixture, writeCifarDir } from '../test/support/make-datasets.js';
import { makeKerasNotopH5 } from '../test/support/make-keras-h5.js';
import type { ImageSet } from '../src/pipeline/data/types.js';
import { gzipSync } from 'node:zlib';

export const REPO = fileURLToPath(new URL('../', import.meta.url));
export const BENCH = join(REPO, 'bench');
export const CLI = join(REPO, 'dist', 'entry', 'cli.js');
export const PYTHON = join(REPO, '.venv', 'bin', 'python');
export const TIME = '/usr/bin/time';

export type Env = Record<string, string | undefined>;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// --- inputs -----------------------------------------------------------------------------------

/** bench/.data/, kept out of git by its own `.gitignore` (`*`). */
export async function dataRoot(): Promise<string> {
  const dir = join(BENCH, '.data');
  await mkdir(dir, { recursive: true });
  const ignore = join(dir, '.gitignore');
  if (!existsSync(ignore)) await writeFile(ignore, '# generated benchmark inputs (bench/speed.ts)\n*\n');
  return dir;
}

/**
 * A CIFAR-10 folder (`<dir>/cifar-10-batches-bin/*.bin`) with 5 training batches of `perBatch` and
 * `testCount` test images; written once, reused while its marker says the same sizes.
 */
export async function ensureCifar(dir: string, perBatch: number, testCount: number, seed: number): Promise<string> {
  const marker = join(dir, 'made.json');
  const want = JSON.stringify({ perBatch, testCount, seed, generator: 'test/support/make-datasets.ts cifarFixture' });
  if (existsSync(marker) && (await readFile(marker, 'utf8')) === want) return dir;
  await rm(dir, { recursive: true, force: true });
  await writeCifarDir(join(dir, 'cifar-10-batches-bin'), cifarFixture(perBatch, testCount, seed));
  await writeFile(marker, want);
  return dir;
}

/** VGG16 notop weights (random Glorot) in the layout of Keras's official file; written once. */
export async function ensureVggWeights(path: string, seed: number): Promise<string> {
  const marker = `${path}.made.json`;
  const want = JSON.stringify({ seed, generator: 'test/support/make-keras-h5.ts makeKerasNotopH5', blocks: VGG_FILTERS.vgg16 });
  if (existsSync(path) && existsSync(marker) && (await readFile(marker, 'utf8')) === want) return path;
  await makeKerasNotopH5(path, VGG_FILTERS.vgg16, { seed });
  await writeFile(marker, want);
  return path;
}

/** IDX bytes (the format MNIST and Fashion-MNIST ship in) of the first `n` images and labels of a set. */
function idx(set: ImageSet, n: number): { images: Buffer; labels: Buffer } {
  const head = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  return {
    images: Buffer.concat([head(0x803, [n, set.height, set.width]), Buffer.from(set.images.subarray(0, n * set.height * set.width))]),
    labels: Buffer.concat([head(0x801, [n]), Buffer.from(Uint8Array.from(set.labels.subarray(0, n)))]),
  };
}

/** A Fashion-MNIST-style folder (`*-idx?-ubyte.gz`) of the first `trainCount` training and `testCount` test images. */
export async function writeIdxSubset(dir: string, data: { readonly train: ImageSet; readonly test: ImageSet }, trainCount: number, testCount: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const [train, test] = [idx(data.train, trainCount), idx(data.test, testCount)];
  for (const [name, bytes] of [['train-images-idx3-ubyte.gz', train.images], ['train-labels-idx1-ubyte.gz', train.labels], ['t10k-images-idx3-ubyte.gz', test.images], ['t10k-labels-idx1-ubyte.gz', test.labels]] as const) {
    await writeFile(join(dir, name), gzipSync(bytes));
  }
}

/** True when any file under src/ is newer than dist/entry/cli.js (or dist is missing). */
export async function distIsStale(): Promise<boolean> {
  if (!existsSync(CLI)) return true;
  const built = (await stat(CLI)).mtimeMs;
  const newest = async (dir: string): Promise<number> => {
    let t = 0;
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      t = Math.max(t, e.isDirectory() ? await newest(p) : e.name.endsWith('.ts') ? (await stat(p)).mtimeMs : 0);
    }
    return t;
  };
  return (await newest(join(REPO, 'src'))) > built;
}

/** A harness's command line: `flag('--quick')` is present; `value('--out')` is the word after it. */
export function cliArgs(argv: readonly string[]): { flag: (name: string) => boolean; value: (name: string) => string | undefined } {
  return {
    flag: (name) => argv.includes(name),
    value: (name) => {
      const at = argv.indexOf(name);
      return at >= 0 ? argv[at + 1] : undefined;
    },
  };
}

/** Rebuilds dist/ (tsc -p tsconfig.json) when it is missing or older than src/; throws when tsc fails. */
export async function buildDistIfStale(log: (s: string) => void): Promise<void> {
  if (!(await distIsStale())) return;
  log('dist/ is missing or older than src/: building it (tsc -p tsconfig.json)');
  const res = await runMeasured(join(REPO, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], childEnv());
  if (res.exitCode !== 0) throw new Error(`tsc failed:\n${res.stdout}${res.stderr}`);
}

/** The JSON log lines of a child's output that `schema` accepts, in order (other lines skipped). */
export function jsonLogLines<T>(output: string, schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } }): T[] {
  return output.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      const parsed = schema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return []; // not a JSON log line
    }
  });
}

// --- child processes --------------------------------------------------------------------------

export interface Measured {
  readonly exitCode: number | null;
  /** Process start to exit, seen from the harness. */
  readonly wallSeconds: number;
  /** Peak resident set size of the measured process (VmHWM), MB (2^20 bytes). */
  readonly peakRssMB: number;
  /** CPU seconds (user + system) of the measured process and its children. */
  readonly cpuSeconds: number;
  /**
   * Share of the machine's CPU capacity used by OTHER processes (and the hypervisor's steal) while
   * this one ran: 0 = it had the machine to itself. NaN when unknown.
   */
  readonly contention: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `file args` under GNU time (`%M`: the child's peak RSS) and returns its output. Falls back to
 * polling /proc/<pid>/status VmHWM when /usr/bin/time is missing.
 */
export async function runMeasured(file: string, args: readonly string[], env: Env, cwd = REPO): Promise<Measured> {
  const useTime = existsSync(TIME);
  const timeOut = join(await dataRoot(), `.time-${process.pid}.txt`);
  const [cmd, argv] = useTime ? [TIME, ['-f', '%M %U %S', '-o', timeOut, file, ...args]] : [file, [...args]];
  const statBefore = await procStat();
  const t0 = performance.now();
  const child = spawn(cmd, argv, { cwd, env: env as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let polledKB = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        readFile(`/proc/${child.pid}/status`, 'utf8')
          .then((s) => (polledKB = Math.max(polledKB, Number(/VmHWM:\s+(\d+)/.exec(s)?.[1] ?? 0))))
          .catch(() => undefined);
      }, 100);
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve(code));
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  const statAfter = await procStat();
  if (poll !== undefined) clearInterval(poll);
  let peakKB = polledKB;
  let cpuSeconds = Number.NaN;
  if (useTime) {
    const text = await readFile(timeOut, 'utf8').catch(() => '');
    const [maxKB, user, system] = (text.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
    peakKB = maxKB ?? 0;
    cpuSeconds = (user ?? Number.NaN) + (system ?? Number.NaN);
    await rm(timeOut, { force: true });
  }
  const capacity = (statAfter.total - statBefore.total) / USER_HZ;
  const busy = (statAfter.busy - statBefore.busy) / USER_HZ;
  const contention = capacity > 0 ? Math.max(0, (busy - cpuSeconds) / capacity) : Number.NaN;
  return { exitCode, wallSeconds, peakRssMB: peakKB / 1024, cpuSeconds, contention, stdout, stderr };
}

/** Environment for children: the caller's, without MLflow/transferkit/TF thread settings, plus `extra`. */
export function childEnv(extra: Env = {}): Env {
  const env: Env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('MLFLOW_') || key.startsWith('TRANSFERKIT_') || key === 'TF_NUM_INTRAOP_THREADS' || key === 'TF_NUM_INTEROP_THREADS') delete env[key];
  }
  return { ...env, TF_CPP_MIN_LOG_LEVEL: '2', ...extra };
}

/** Clock ticks per second of /proc/stat (USER_HZ; 100 on Linux). */
const USER_HZ = 100;

/** Machine-wide CPU ticks from /proc/stat: busy (user, nice, system, irq, softirq, steal) and total. */
async function procStat(): Promise<{ busy: number; total: number }> {
  const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest time is inside user)
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Share of CPU time (all cores) spent busy over `ms`, from /proc/stat. */
export async function cpuBusy(ms = 1000): Promise<number> {
  const a = await procStat();
  await sleep(ms);
  const b = await procStat();
  return b.total === a.total ? 0 : (b.busy - a.busy) / (b.total - a.total);
}

/**
 * Waits (up to `maxSeconds`) until other processes leave the CPU mostly idle, so a measurement does
 * not share the 2 cores with someone else's job. Returns the busy share seen last.
 */
export async function waitForIdle(maxSeconds: number, threshold = 0.15, log: (s: string) => void = () => undefined): Promise<number> {
  const deadline = performance.now() + maxSeconds * 1000;
  let busy = await cpuBusy();
  let said = false;
  while (busy > threshold && performance.now() < deadline) {
    if (!said) log(`  (CPU ${(busy * 100).toFixed(0)}% busy with other processes; waiting up to ${maxSeconds} s for it to calm down)`);
    said = true;
    await sleep(4000);
    busy = await cpuBusy();
  }
  return busy;
}

// --- machine ----------------------------------------------------------------------------------

export interface Machine {
  readonly cpu_model: string;
  readonly cpus: number;
  readonly cpu_flags_simd: string;
  readonly ram_gb: number;
  readonly node: string;
  readonly python_tensorflow?: string;
  readonly python_keras?: string;
  readonly tfjs?: string;
  readonly tfjs_node_tensorflow?: string;
  readonly kernel: string;
}

async function lscpu(): Promise<Record<string, string>> {
  const out = await runText('lscpu', []);
  const rows: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows[m[1].trim()] = m[2].trim();
  }
  return rows;
}

export async function runText(file: string, args: readonly string[], env?: Env): Promise<string> {
  const child = spawn(file, args, { env: (env ?? process.env) as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  await new Promise<void>((resolve) => {
    child.on('close', () => resolve());
    child.on('error', () => resolve());
  });
  return out;
}

export async function machine(versions: Partial<Machine>): Promise<Machine> {
  const cpu = await lscpu();
  const simd = (cpu['Flags'] ?? '').split(' ').filter((f) => /^(avx2|avx512f|avx512_bf16|avx512_vnni|amx\w*|fma)$/.test(f));
  return {
    cpu_model: cpu['Model name'] ?? cpus()[0]?.model ?? 'unknown',
    cpus: Number(cpu['CPU(s)'] ?? cpus().length),
    cpu_flags_simd: simd.join(' '),
    ram_gb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: (await readFile('/proc/version', 'utf8').catch(() => '')).split(' ').slice(0, 3).join(' '),
    ...versions,
  };
}

// --- FLOPs ------------------------------------------------------------------------------------

/**
 * Multiply-add FLOPs (2 per MAC) of VGG16's convolutions for one `size`×`size` image, up to and
 * including conv layer `throughConv` (1-based over the 13 convs; default all).
 */
export function vgg16ConvFlops(size: number, throughConv = 13): number {
  let flops = 0;
  let cin = 3;
  let hw = size;
  let n = 0;
  for (const block of VGG_FILTERS.vgg16) {
    for (const cout of block) {
      n++;
      if (n <= throughConv) flops += 2 * hw * hw * cin * cout * 9;
      cin = cout;
    }
    hw = Math.floor(hw / 2);
  }
  return flops;
}
