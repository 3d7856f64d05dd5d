/** The Python of the project's venv (.venv, or TRANSFERKIT_VENV), with a clear message when missing. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './cli.js';

export function venvPython(): string {
  const venv = process.env['TRANSFERKIT_VENV'] ?? join(REPO, '.venv');
  const python = join(venv, 'bin', 'python');
  if (!existsSync(python)) throw new Error(`${python} is missing: run 'bash scripts/setup-python.sh --with-keras'`);
  return python;
}
