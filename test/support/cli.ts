/** Runs the built CLI (dist/) or `mlflow run` of this repo as a child process, as users do. */
import { mkdtemp, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { cifarFixture, writeCifarDir } from './make-datasets.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(REPO, 'dist', 'entry', 'cli.js');

/** Env for children: no MLflow variables leak in from the caller, quiet TensorFlow. */
export function childEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' };
  for (const key of Object.keys(env)) if (key.startsWith('MLFLOW_') || key.startsWith('TRANSFERKIT_')) delete env[key];
  return { ...env, ...extra };
}

export interface ChildResult {
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
}

async function run(file: string, args: readonly string[], env: Record<string, string | undefined>, cwd: string): Promise<ChildResult> {
  const res = await execa(file, args, { env, extendEnv: false, cwd, reject: false, timeout: 300_000, stripFinalNewline: false });
  return { exitCode: res.exitCode, stdout: String(res.stdout ?? ''), stderr: String(res.stderr ?? '') };
}

export function runCli(args: readonly string[], env: Record<string, string | undefined>, cwd = REPO): Promise<ChildResult> {
  return run('node', [CLI, ...args], env, cwd);
}

export async function mlflowRun(
  params: Readonly<Record<string, string>>,
  env: Record<string, string | undefined>,
  options: { cwd?: string; experiment?: string; entry?: string; runId?: string } = {},
): Promise<ChildResult> {
  const args = ['run', REPO, '--env-manager', 'local', '-e', options.entry ?? 'main'];
  if (options.runId !== undefined) args.push('--run-id', options.runId);
  if (options.experiment !== undefined) args.push('--experiment-name', options.experiment);
  for (const [k, v] of Object.entries(params)) args.push('-P', `${k}=${v}`);
  return run(findMlflow({ env: process.env }), args, env, options.cwd ?? REPO);
}

/** A temp dir with a tiny CIFAR-10 in the official binary layout (10 images per class and batch). */
export async function tinyCifar(perBatch = 20, testCount = 50): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'transferkit-cifar-'));
  await writeCifarDir(join(dir, 'cifar-10-batches-bin'), cifarFixture(perBatch, testCount, 7));
  return dir;
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `transferkit-${prefix}-`));
}

export { mkdir, writeFile };
