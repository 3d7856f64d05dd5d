/** The Python of the project's venv (.venv, or TRANSFERKIT_VENV), with a clear message when missing. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { REPO } from './cli.js';

export function venvPython(): string {
  const venv = process.env['TRANSFERKIT_VENV'] ?? join(REPO, '.venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: run 'bash scripts/setup-python.sh --with-keras'`);
  return python;
}

/**
 * Runs a Python script in the venv with `job` as JSON in argv[1]; fails the test with the fix when
 * Keras is missing. test/support is on its PYTHONPATH (keras_apps.py: helpers shared with the benches).
 */
export async function runKerasPython(script: string, job: unknown): Promise<string> {
  const hint = 'run `bash scripts/setup-python.sh --with-keras`';
  const python = venvPython();
  try {
    const { stdout } = await promisify(execFile)(python, ['-c', script, JSON.stringify(job)], {
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3', PYTHONPATH: [join(REPO, 'test', 'support'), process.env['PYTHONPATH']].filter((p) => p !== undefined && p !== '').join(':') },
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = error instanceof Error && 'stderr' in error ? String(error.stderr) : String(error);
    if (/ModuleNotFoundError/.test(stderr)) assert.fail(`Python Keras is not set up (${stderr.trim().split('\n').at(-1)}): ${hint}`);
    assert.fail(`the Keras script failed:\n${stderr.slice(-3000)}`);
  }
}
