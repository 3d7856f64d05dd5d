/**
 * The private server `train` starts before its heavy imports (early-server.ts), seen from outside:
 * a fake `mlflow` that never answers (it records its pid and sleeps) stands in for MLflow. Nothing
 * of it may outlive the CLI, whether a signal comes while main.js is imported or a bad parameter ends
 * the command; the exit code is the signal's or the parameter error's.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, childEnv, tempDir } from '../support/cli.js';

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

/** A temp dir with a fake `mlflow` that records its pid and never answers; the env that runs `train` over a local store with it. */
async function withFakeMlflow(prefix: string, body: (dir: string, env: Record<string, string | undefined>) => Promise<void>): Promise<void> {
  const dir = await tempDir(prefix);
  try {
    const bin = join(dir, 'mlflow');
    await writeFile(bin, `#!/bin/sh\necho $$ >> "${join(dir, 'mlflow.pids')}"\nexec sleep 377\n`);
    await chmod(bin, 0o755);
    await body(dir, childEnv({ MLFLOW_BIN: bin, MLFLOW_TRACKING_URI: `sqlite:///${join(dir, 'mlflow.db')}` }));
  } finally {
    for (const pid of await pidsIn(dir)) if (alive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}

const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

describe('the early private mlflow server', () => {
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`is killed when ${signal} comes while the command's modules load (exit ${code})`, async () => {
      await withFakeMlflow('early-signal', async (dir, env) => {
        const child = execa('node', [CLI, 'train', '--max_epochs', '1'], { cwd: dir, env, extendEnv: false, reject: false });
        // the server starts before main.js (TensorFlow) is imported; signal as soon as it runs
        while ((await pidsIn(dir)).length === 0 && child.exitCode === null) await pause();
        const [pid] = await pidsIn(dir);
        assert.ok(pid !== undefined, 'the fake server started');
        child.kill(signal);
        const res = await child;
        assert.equal(res.exitCode, code, String(res.stderr));
        assert.equal(alive(pid), false, `the fake server ${pid} outlived the CLI`);
      });
    });
  }

  it('is stopped at once when a parameter error ends the command: the error\'s exit code, nothing left', async () => {
    await withFakeMlflow('early-param', async (dir, env) => {
      const res = await execa('node', [CLI, 'train', '--log_format', 'bogus'], { cwd: dir, env, extendEnv: false, reject: false });
      assert.equal(res.exitCode, 2, String(res.stderr));
      assert.match(String(res.stderr), /log_format/);
      const pids = await pidsIn(dir);
      assert.equal(pids.length, 1, 'the early server was started');
      assert.deepEqual(pids.filter(alive), [], 'the fake server outlived the CLI');
    });
  });
});
