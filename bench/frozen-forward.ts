/**
 * The frozen forward, transferkit against Keras, in one run: images/s of the whole backbone (every
 * layer frozen, input → last feature map) for mobilenet_v2 and efficientnet_lite0 at 96 and 224 px,
 * batch 32, the same Keras-made random-weights `.h5` and the same pixels on both sides:
 *   keras         model.predict (Keras 3: a compiled tf.function)      bench/frozen_forward_keras.py
 *   tk-predict    the LayersModel's predict (transferkit before the inference compile)
 *   tk-unfused    src/pipeline/model/infer's step executor, nothing folded
 *   tk-fused      BatchNorm folded into the convs, activations fused    bench/frozen-forward-tk.ts
 * Both workers stay up and take turns, one short pass each (keras, tk-predict, tk-fused, tk-unfused,
 * the order rotated every round, repeated --rounds times), so a burst of other load hits every
 * method alike; ratios are taken within each round and their median reported. Also the ops one batch dispatches (native TensorFlow executeOp calls and
 * tfjs kernels) per transferkit mode, and each worker's peak RSS.
 *
 *   node --import tsx bench/frozen-forward.ts [--quick] [--rounds N] [--out NAME]
 *
 * Writes bench/results/NAME.json and .md (NAME: frozen-forward, or frozen-forward-quick).
 */
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH, PYTHON, REPO, childEnv, cpuBusy, dataRoot, machine } from './speed-support.js';

const argv = process.argv.slice(2);
const value = (flag: string) => (argv.includes(flag) ? argv[argv.indexOf(flag) + 1] : undefined);
const QUICK = argv.includes('--quick');
const ROUNDS = Number(value('--rounds') ?? (QUICK ? '3' : '11'));
const NAME = value('--out') ?? (QUICK ? 'frozen-forward-quick' : 'frozen-forward');
const BATCH = 32;
const BACKBONES = ['mobilenet_v2', 'efficientnet_lite0'] as const;
const SIZES = [96, 224] as const;
const IMAGES: Record<(typeof SIZES)[number], number> = QUICK ? { 96: 64, 224: 32 } : { 96: 128, 224: 32 };
const METHODS = ['keras', 'tk-predict', 'tk-fused', 'tk-unfused'] as const;
type Method = (typeof METHODS)[number];
const log = (s: string) => process.stderr.write(`[frozen-forward] ${s}\n`);

/** A worker answering one JSON line per JSON line it reads. */
class Worker {
  readonly #lines: AsyncIterator<string>;
  constructor(readonly name: string, readonly child: ChildProcessWithoutNullStreams) {
    this.#lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (!/oneDNN|absl::|cpu_feature_guard|computation placer|TF-TRT/.test(s)) process.stderr.write(`[${name}] ${s}`);
    });
  }
  async next(): Promise<Record<string, unknown>> {
    const { value: line, done } = await this.#lines.next();
    if (done === true || line === undefined) throw new Error(`${this.name} exited (code ${String(this.child.exitCode)})`);
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error(`${this.name}: not an object: ${line}`);
    return Object.fromEntries(Object.entries(parsed));
  }
  async ask(job: object): Promise<Record<string, unknown>> {
    this.child.stdin.write(`${JSON.stringify(job)}\n`);
    return this.next();
  }
}
const num = (r: Record<string, unknown>, k: string): number => {
  const v = r[k];
  if (typeof v !== 'number') throw new Error(`expected a number at ${k}: ${JSON.stringify(r)}`);
  return v;
};
const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? Number.NaN) + (s[m] ?? Number.NaN)) / 2;
};

const env = childEnv({ TF_CPP_MIN_LOG_LEVEL: '2' });
const keras = new Worker('keras', spawn(PYTHON, [join(BENCH, 'frozen_forward_keras.py')], { env: env as NodeJS.ProcessEnv, cwd: REPO }));
const tk = new Worker('tk', spawn(process.execPath, ['--import', 'tsx', join(BENCH, 'frozen-forward-tk.ts')], { env: env as NodeJS.ProcessEnv, cwd: REPO }));
const [kerasReady, tkReady] = [await keras.next(), await tk.next()];
log(`workers ready: ${JSON.stringify(kerasReady)} ${JSON.stringify(tkReady)}`);

const dir = join(await dataRoot(), 'frozen-forward');
await mkdir(dir, { recursive: true });
/** Seeded raw RGB pixels in [0, 255], float32, one file per size. */
async function pixels(size: number, count: number): Promise<string> {
  const path = join(dir, `pixels-${size}-${count}.f32`);
  if (existsSync(path)) return path;
  const a = new Float32Array(count * size * size * 3);
  let s = 12345;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    a[i] = (s >>> 16) % 256;
  }
  await writeFile(path, Buffer.from(a.buffer));
  return path;
}

interface Config { readonly backbone: (typeof BACKBONES)[number]; readonly size: (typeof SIZES)[number] }
const results: Array<Config & { images: number; rounds: Record<Method, number>[]; ops: Record<string, unknown>; median: Record<Method, number>; ratios: Record<string, number>; busy_before: number }> = [];
const t0 = performance.now();
for (const backbone of BACKBONES) {
  const h5 = join(dir, `${backbone}.h5`);
  await keras.ask({ cmd: 'make', backbone, h5, seed: 7 });
  for (const size of SIZES) {
    const count = IMAGES[size];
    const job = { backbone, h5, size, images: await pixels(size, count), count, batch: BATCH };
    log(`${backbone} @ ${size}px: loading, op counts`);
    const ops: Record<string, unknown> = {};
    for (const mode of ['predict', 'unfused', 'fused'] as const) ops[mode] = await tk.ask({ cmd: 'count', ...job, mode });
    await keras.ask({ cmd: 'run', ...job }); // load + warm up outside the rounds
    const busy = await cpuBusy(2000);
    const rounds: Record<Method, number>[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const got: Partial<Record<Method, number>> = {};
      for (const m of [...METHODS.slice(r % METHODS.length), ...METHODS.slice(0, r % METHODS.length)]) {
        const res = m === 'keras' ? await keras.ask({ cmd: 'run', ...job }) : await tk.ask({ cmd: 'run', ...job, mode: m.slice(3) });
        got[m] = num(res, 'images_per_second');
      }
      const full = { keras: got.keras ?? Number.NaN, 'tk-predict': got['tk-predict'] ?? Number.NaN, 'tk-fused': got['tk-fused'] ?? Number.NaN, 'tk-unfused': got['tk-unfused'] ?? Number.NaN };
      rounds.push(full);
      log(`  round ${r + 1}: ${METHODS.map((m) => `${m} ${full[m].toFixed(1)}`).join(', ')} img/s`);
    }
    const med = { keras: 0, 'tk-predict': 0, 'tk-fused': 0, 'tk-unfused': 0 };
    for (const m of METHODS) med[m] = median(rounds.map((x) => x[m]));
    const ratio = (a: Method, b: Method) => median(rounds.map((x) => x[a] / x[b]));
    const ratios = {
      'tk-predict/keras': ratio('tk-predict', 'keras'),
      'tk-fused/keras': ratio('tk-fused', 'keras'),
      'tk-unfused/keras': ratio('tk-unfused', 'keras'),
      'tk-fused/tk-predict': ratio('tk-fused', 'tk-predict'),
      'tk-unfused/tk-predict': ratio('tk-unfused', 'tk-predict'),
      'tk-fused/tk-unfused': ratio('tk-fused', 'tk-unfused'),
    };
    results.push({ backbone, size, images: count, rounds, ops, median: med, ratios, busy_before: busy });
  }
}
const rss = { keras_mb: num(await keras.ask({ cmd: 'rss' }), 'peak_rss_mb'), tk_mb: num(await tk.ask({ cmd: 'rss' }), 'peak_rss_mb') };
keras.child.stdin.end();
tk.child.stdin.end();

const git = (...a: string[]) => execFileSync('git', ['-C', REPO, ...a], { encoding: 'utf8' }).trim();
const dirty = git('status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench', ':!bench/results') !== '';
const commit = `${git('rev-parse', '--short', 'HEAD')}${dirty ? '+uncommitted' : ''}`;
const command = `node --import tsx bench/frozen-forward.ts ${argv.join(' ')}`.trim();
const versions = { keras: String(kerasReady['keras']), tensorflow_python: String(kerasReady['tensorflow']), tensorflow_c: String(tkReady['tensorflow']), tfjs: String(tkReady['tfjs']) };
const out = { command, commit, date: new Date().toISOString(), minutes: (performance.now() - t0) / 60000, machine: await machine({}), versions, batch: BATCH, rounds: ROUNDS, peak_rss: rss, results };
await writeFile(join(BENCH, 'results', `${NAME}.json`), `${JSON.stringify(out, null, 2)}\n`);

const field = (o: unknown, k: string): unknown => (typeof o === 'object' && o !== null ? Object.entries(o).find(([key]) => key === k)?.[1] : undefined);
const opsOf = (r: (typeof results)[number], mode: string, k: string) => {
  const v = field(r.ops[mode], k);
  return typeof v === 'number' ? String(v) : JSON.stringify(v ?? '?');
};
const md = [
  `# Frozen forward: transferkit vs Keras (${NAME})`,
  '',
  `\`${command}\` at commit \`${commit}\`, ${out.date.slice(0, 16)} UTC, ${out.minutes.toFixed(1)} min. ${out.machine.cpu_model}, ${out.machine.cpus} CPUs (${out.machine.cpu_flags_simd}), shared with other work.`,
  `Keras ${versions.keras} / TensorFlow ${versions.tensorflow_python} (Python) vs tfjs ${versions.tfjs} on TensorFlow ${versions.tensorflow_c} (C API). Batch ${BATCH}, random-weights Keras-made \`.h5\`, seeded random pixels; ${ROUNDS} interleaved rounds (one pass of each method, order rotated every round); medians of images/s and of per-round ratios.`,
  '',
  '| backbone | px | images | keras | tk-predict (before) | tk-unfused | tk-fused (after) | before/keras | after/keras | after/before | fused/unfused | CPU busy before |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.backbone} | ${r.size} | ${r.images} | ${r.median.keras.toFixed(1)} | ${r.median['tk-predict'].toFixed(1)} | ${r.median['tk-unfused'].toFixed(1)} | ${r.median['tk-fused'].toFixed(1)} | ${(r.ratios['tk-predict/keras'] ?? 0).toFixed(2)} | ${(r.ratios['tk-fused/keras'] ?? 0).toFixed(2)} | ${(r.ratios['tk-fused/tk-predict'] ?? 0).toFixed(2)} | ${(r.ratios['tk-fused/tk-unfused'] ?? 0).toFixed(2)} | ${(r.busy_before * 100).toFixed(0)}% |`),
  '',
  'Ops one batch dispatches (native: TensorFlow eager ops through the binding; tfjs: kernels in tf.profile, nested ones included):',
  '',
  '| backbone | px | predict native / tfjs | unfused native / tfjs | fused native / tfjs | steps (fused) |',
  '|---|---|---|---|---|---|',
  ...results.map((r) => `| ${r.backbone} | ${r.size} | ${opsOf(r, 'predict', 'native_ops')} / ${opsOf(r, 'predict', 'tfjs_kernels')} | ${opsOf(r, 'unfused', 'native_ops')} / ${opsOf(r, 'unfused', 'tfjs_kernels')} | ${opsOf(r, 'fused', 'native_ops')} / ${opsOf(r, 'fused', 'tfjs_kernels')} | ${opsOf(r, 'fused', 'stats')} |`),
  '',
  `Peak RSS: transferkit worker ${rss.tk_mb.toFixed(0)} MB, Keras worker ${rss.keras_mb.toFixed(0)} MB (each holds all four configurations' models and pixels).`,
  '',
  'Every round:',
  '',
  ...results.map((r) => `- ${r.backbone} @ ${r.size}: ${r.rounds.map((x) => METHODS.map((m) => x[m].toFixed(1)).join('/')).join('; ')} (${METHODS.join('/')})`),
  '',
];
await writeFile(join(BENCH, 'results', `${NAME}.md`), md.join('\n'));
log(`wrote bench/results/${NAME}.json and .md`);
