/**
 * The private server `train` starts before its heavy imports (early-server.ts), seen from outside:
 * a fake `mlflow` that never answers (it records its pid and sleeps) stands in for MLflow. Nothing
 * of it may outlive the CLI, whether signals come while main.js is imported, and none is started when
 * a bad argument ends the command; the exit code is the signal's or the argument error's. Then with a
 * real MLflow: a new store must survive both.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { LocalServer } from '../../src/tracking/local-server.js';
import { CLI, childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { clientFor } from '../support/mlflow-checks.js';
import { viewDefaultStore } from '../support/mlflow-server.js';

/**
 * Whether a process lives on: a zombie (killed, not yet reaped by its new parent) or one with a
 * SIGKILL pending (sent, not yet acted on by the kernel) counts as gone.
 */
function alive(pid: number): boolean {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return false;
  }
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1] ?? '';
  const sigkill = (mask: string) => mask !== '' && (BigInt(`0x${mask}`) & 0x100n) !== 0n;
  return !field('State').startsWith('Z') && !sigkill(field('SigPnd')) && !sigkill(field('ShdPnd'));
}

/** The pids the fake server recorded in `dir`. */
async function pidsIn(dir: string): Promise<number[]> {
  const file = join(dir, 'mlflow.pids');
  return existsSync(file) ? (await readFile(file, 'utf8')).split('\n').filter((l) => l !== '').map(Number) : [];
}

/**
 * A temp dir with a fake `mlflow` that records its pid and then runs `exec` (default: never answers);
 * the env that runs `train` over a local store with it.
 */
async function withFakeMlflow(prefix: string, body: (dir: string, env: Record<string, string | undefined>) => Promise<void>, exec = 'sleep 377'): Promise<void> {
  const dir = await tempDir(prefix);
  try {
    const bin = join(dir, 'mlflow');
    await writeFile(bin, `#!/bin/sh\necho $$ >> "${join(dir, 'mlflow.pids')}"\nexec ${exec}\n`);
    await chmod(bin, 0o755);
    await body(dir, childEnv({ MLFLOW_BIN: bin, MLFLOW_TRACKING_URI: `sqlite:///${join(dir, 'mlflow.db')}`, TRANSFERKIT_MLFLOW_SERVER: 'cli' }));
  } finally {
    for (const pid of await pidsIn(dir)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

/**
 * A fake `mlflow server` with a store set-up: it writes "setting up" to `steps`, waits for the file
 * `go`, writes "set up" and answers /health; SIGTERM is written down before it exits. A SIGKILL leaves
 * no "SIGTERM" line, and one during the set-up no "set up" either.
 */
const SETUP_SERVER = `
import { appendFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';
const port = Number(process.argv[process.argv.indexOf('--port') + 1]);
const step = (s) => appendFileSync(join(process.cwd(), 'steps'), s + '\\n');
process.on('SIGTERM', () => { step('SIGTERM'); process.exit(0); });
step('setting up');
const wait = () => {
  if (!existsSync(join(process.cwd(), 'go'))) return void setTimeout(wait, 20);
  step('set up');
  createServer((req, res) => res.end(req.url === '/health' ? 'OK' : '')).listen(port, '127.0.0.1');
};
wait();
`;

const stepsIn = async (dir: string): Promise<string[]> =>
  existsSync(join(dir, 'steps')) ? (await readFile(join(dir, 'steps'), 'utf8')).split('\n').filter((l) => l !== '') : [];

describe('the early private mlflow server', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`is killed at a second ${signal} while the command's modules load (exit ${code})`, async () => {
      await withFakeMlflow('early-signal', async (dir, env) => {
        const child = execa('node', [CLI, 'train', '--max_epochs', '1'], { cwd: dir, env, extendEnv: false, reject: false, forceKillAfterDelay: false });
        // the server starts before main.js (TensorFlow) is imported; signal as soon as it runs
        while ((await pidsIn(dir)).length === 0 && child.exitCode === null) await pause();
        const [pid] = await pidsIn(dir);
        assert.ok(pid !== undefined, 'the fake server started');
        // the first waits for the server's start (this one never answers); the second, once the first
        // was taken (said on stderr), kills it
        let said = '';
        const taken = new Promise<void>((resolve) => child.stderr?.on('data', (chunk) => (said += String(chunk), said.includes('again kills it') && resolve())));
        child.kill(signal);
        await taken;
        child.kill(signal);
        const res = await child;
        assert.equal(res.exitCode, code, String(res.stderr));
        assert.equal(alive(pid), false, `the fake server ${pid} outlived the CLI`);
      });
    });
  }

  it('lets a set-up under way finish at a first SIGINT, then stops the server with SIGTERM (exit 130)', async () => {
    await withFakeMlflow('early-setup', async (dir, env) => {
      await writeFile(join(dir, 'server.mjs'), SETUP_SERVER);
      const child = execa('node', [CLI, 'train', '--max_epochs', '1'], { cwd: dir, env, extendEnv: false, reject: false });
      while (!(await stepsIn(dir)).includes('setting up') && child.exitCode === null) await pause();
      child.kill('SIGINT');
      // the set-up may end now; a kill at any time (before: SIGKILL at the signal) leaves no SIGTERM line
      await writeFile(join(dir, 'go'), '');
      const res = await child;
      assert.equal(res.exitCode, 130, String(res.stderr));
      assert.deepEqual(await stepsIn(dir), ['setting up', 'set up', 'SIGTERM'], 'the set-up was not cut and the server was stopped gracefully');
      assert.deepEqual((await pidsIn(dir)).filter(alive), [], 'the fake server outlived the CLI');
    }, `node "$PWD/server.mjs" "$@"`);
  });

  it('is not started for arguments that end the command before a run: the error\'s exit code, nothing left', async () => {
    for (const [args, message] of [[['--log_format', 'bogus'], /log_format/], [['oops'], /Unexpected argument "oops"/]] as const) {
      await withFakeMlflow('early-param', async (dir, env) => {
        const res = await execa('node', [CLI, 'train', ...args], { cwd: dir, env, extendEnv: false, reject: false });
        assert.equal(res.exitCode, 2, String(res.stderr));
        assert.match(String(res.stderr), message);
        assert.deepEqual(await pidsIn(dir), [], 'no server was started');
      });
    }
  });
});

/**
 * A new store (MLflow's default, ./mlflow.db) is created and migrated by the server's start: cut
 * there, it stays half-migrated and no MLflow can open it again. After a bad argument, or a first
 * Ctrl-C while the server starts, a real MLflow must open the store.
 */
describe('a new local store under the early server', { timeout: 600_000 }, () => {
  let work = '';
  const viewers: LocalServer[] = [];
  before(async () => {
    work = await tempDir('early-store');
  });
  after(async () => {
    for (const viewer of viewers) await viewer.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Opens dir's store with a real MLflow and checks it answers with its Default experiment. */
  async function storeOpens(dir: string): Promise<void> {
    const viewer = await viewDefaultStore(dir);
    viewers.push(viewer);
    assert.ok(await clientFor(viewer.url).getExperimentByName('Default'), 'the store answers');
  }

  it('opens after train with a bad argument, each time', async () => {
    const cases = [['train', 'oops'], ['train', '--log_format', 'bogus'], ['train', '--max_epochs']];
    for (const [i, argv] of cases.entries()) {
      const dir = join(work, `bad-${i}`);
      await mkdir(dir);
      const res = await runCli(argv, childEnv(), dir);
      assert.equal(res.exitCode, 2, res.stderr);
      assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
      await storeOpens(dir);
    }
  });

  it('opens after a first Ctrl-C while the server sets the store up (exit 130)', async () => {
    const data = await tinyCifar(20, 30);
    try {
      for (const i of [0]) {
        const dir = join(work, `sigint-${i}`);
        await mkdir(dir);
        const child = execa('node', [CLI, 'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--max_epochs', '1'], { cwd: dir, env: childEnv(), extendEnv: false, reject: false });
        // the store file appears when MLflow begins to create its tables: interrupt then
        while (!existsSync(join(dir, 'mlflow.db')) && child.exitCode === null) await pause();
        child.kill('SIGINT');
        const res = await child;
        assert.equal(res.exitCode, 130, String(res.stderr));
        await storeOpens(dir);
      }
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});
