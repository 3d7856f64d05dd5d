/**
 * The pure parts of bench/backbones.ts: its options (parsed with zod from argv) and its tables.
 */
import { z } from 'zod';

export const BENCH_BACKBONES = ['mobilenet_v2', 'efficientnet_b0'] as const;
export type BenchBackbone = (typeof BENCH_BACKBONES)[number];
export const WORKLOADS = ['frozen', 'last-stage'] as const;
export type Workload = (typeof WORKLOADS)[number];
export const METHODS = ['keras', 'tk-cold', 'tk-warm'] as const;
export type Method = (typeof METHODS)[number];

/** `96:60,224:20` → {96: 60, 224: 20}. */
const perSize = z
  .string()
  .regex(/^\d+:\d+(,\d+:\d+)*$/, 'expected size:count pairs, e.g. 96:60,224:20')
  .transform((s) => {
    const counts = new Map<number, number>();
    for (const pair of s.split(',')) {
      const [size = '', count = ''] = pair.split(':');
      counts.set(Number(size), Number(count));
    }
    return counts;
  });
const list = <T extends readonly [string, ...string[]]>(values: T) => z.string().transform((s) => s.split(',').map((x) => x.trim())).pipe(z.array(z.enum(values)).min(1));
const positive = z.coerce.number().int().positive();

const optionsSchema = z.object({
  quick: z.boolean(),
  backbones: list(BENCH_BACKBONES),
  sizes: z.string().transform((s) => s.split(',').map(Number)).pipe(z.array(z.number().int().min(32).max(512)).min(1)),
  workloads: list(WORKLOADS),
  perClass: perSize,
  test: perSize,
  epochs: positive,
  warm: z.boolean(),
  keep: z.boolean(),
  noBuild: z.boolean(),
  out: z.string().regex(/^[\w.-]+$/),
});
export type Options = z.infer<typeof optionsSchema>;

export const DEFAULTS = {
  full: { perClass: '96:60,224:20', test: '96:600,224:200', epochs: '5', out: 'backbones' },
  quick: { perClass: '96:10,224:4', test: '96:100,224:40', epochs: '2', out: 'backbones-quick' },
} as const;

const FLAGS = ['--quick', '--no-warm', '--keep', '--no-build'] as const;
const VALUED = ['--backbones', '--sizes', '--workloads', '--per-class', '--test', '--epochs', '--out'] as const;

export class BenchOptionsError extends Error {
  readonly code = 'BENCH_OPTIONS';
}

/** The harness's options from its command line; unknown flags, bad values and missing sizes throw. */
export function parseOptions(argv: readonly string[]): Options {
  const given = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (FLAGS.some((f) => f === a)) given.set(a, 'true');
    else if (VALUED.some((f) => f === a)) {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith('--')) throw new BenchOptionsError(`${a} needs a value`);
      given.set(a, v);
      i++;
    } else throw new BenchOptionsError(`unknown option ${a}; expected ${[...FLAGS, ...VALUED].join(', ')}`);
  }
  const quick = given.has('--quick');
  const d = quick ? DEFAULTS.quick : DEFAULTS.full;
  const parsed = optionsSchema.safeParse({
    quick,
    backbones: given.get('--backbones') ?? BENCH_BACKBONES.join(','),
    sizes: given.get('--sizes') ?? '96,224',
    workloads: given.get('--workloads') ?? WORKLOADS.join(','),
    perClass: given.get('--per-class') ?? d.perClass,
    test: given.get('--test') ?? d.test,
    epochs: given.get('--epochs') ?? d.epochs,
    warm: !given.has('--no-warm'),
    keep: given.has('--keep'),
    noBuild: given.has('--no-build'),
    out: given.get('--out') ?? d.out,
  });
  if (!parsed.success) throw new BenchOptionsError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  for (const size of parsed.data.sizes) {
    for (const [flag, map] of [['--per-class', parsed.data.perClass], ['--test', parsed.data.test]] as const) {
      const n = map.get(size);
      if (n === undefined || n < 1) throw new BenchOptionsError(`${flag} gives no count for size ${size}`);
    }
    if ((parsed.data.perClass.get(size) ?? 0) < 2) throw new BenchOptionsError(`--per-class for size ${size} must be at least 2 (one image each for training and validation)`);
  }
  return parsed.data;
}

// --- tables -------------------------------------------------------------------------------------

export interface RunResult {
  readonly method: Method;
  readonly ok: boolean;
  readonly error?: string;
  readonly wall_seconds: number;
  readonly fit_seconds?: number;
  readonly peak_rss_mb: number;
  readonly cpu_seconds: number;
  /** Share of the machine's CPU other processes took during the run. */
  readonly contention: number;
  readonly test_accuracy?: number;
  /** transferkit: the activation cache's status (miss, hit) and seconds. */
  readonly cache?: { readonly status: string; readonly seconds: number };
}

export interface ConfigResult {
  readonly backbone: BenchBackbone;
  readonly size: number;
  readonly workload: Workload;
  readonly runs: readonly RunResult[];
}

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(1));
const f2 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const times = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`);
const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(0)}%`);

const okRun = (c: ConfigResult, m: Method) => c.runs.find((r) => r.method === m && r.ok);

/** a ÷ b, undefined when either is missing or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined || b === undefined || !(b > 0) ? undefined : a / b;
}

/** Keras's wall time ÷ a transferkit method's, per configuration. */
export function wallRatio(c: ConfigResult, m: Exclude<Method, 'keras'>): number | undefined {
  return ratio(okRun(c, 'keras')?.wall_seconds, okRun(c, m)?.wall_seconds);
}

/** One row per run: every figure measured. */
export function runTable(results: readonly ConfigResult[]): string[] {
  const rows = [
    '| backbone | px | workload | method | wall s | fit s | peak RSS MB | test acc | Keras wall ÷ this | CPU taken by others |',
    '|---|---:|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const c of results) {
    for (const r of c.runs) {
      const label = `| ${c.backbone} | ${c.size} | ${c.workload} | ${r.method}${r.cache === undefined ? '' : ` (cache ${r.cache.status})`}`;
      if (!r.ok) {
        rows.push(`${label} | FAILED | | | | | ${pct(r.contention)} |`);
        continue;
      }
      const vs = r.method === 'keras' ? '1×' : times(wallRatio(c, r.method));
      rows.push(`${label} | ${f1(r.wall_seconds)} | ${f2(r.fit_seconds)} | ${r.peak_rss_mb.toFixed(0)} | ${r.test_accuracy === undefined ? '–' : r.test_accuracy.toFixed(4)} | ${vs} | ${pct(r.contention)} |`);
    }
  }
  return rows;
}

/** One row per configuration: the wall ratios and peak RSS of each side. */
export function ratioTable(results: readonly ConfigResult[]): string[] {
  const rows = [
    '| backbone | px | workload | Keras wall ÷ tk cold | Keras wall ÷ tk warm | peak RSS MB Keras / tk cold / tk warm |',
    '|---|---:|---|---:|---:|---|',
  ];
  for (const c of results) {
    const rss = METHODS.map((m) => okRun(c, m)?.peak_rss_mb).map((x) => (x === undefined ? '–' : x.toFixed(0))).join(' / ');
    rows.push(`| ${c.backbone} | ${c.size} | ${c.workload} | ${times(wallRatio(c, 'tk-cold'))} | ${times(wallRatio(c, 'tk-warm'))} | ${rss} |`);
  }
  return rows;
}
