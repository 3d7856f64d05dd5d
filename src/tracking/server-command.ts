/**
 * How the private `mlflow server` is started. `mlflow server` runs two Python processes that each
 * import MLflow (the CLI, then uvicorn); src/tracking/mlflow_server.py runs MLflow's own `server`
 * command with uvicorn in the same process, which halves the start-up. It needs the Python that runs
 * the `mlflow` executable, read from its `#!` line as the system does. When that line names no Python
 * (a wrapper script), or TRANSFERKIT_MLFLOW_SERVER=cli, the `mlflow` executable itself is run.
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

/** src/tracking/mlflow_server.py, from src/tracking/ or dist/tracking/. */
export const LAUNCHER = fileURLToPath(new URL('../../src/tracking/mlflow_server.py', import.meta.url));

/**
 * The Python interpreter of a pip/conda console script: `#!/path/python`, or pip's form for long
 * paths (`#!/bin/sh` then `'''exec' /path/python "$0" "$@"`). Undefined for anything else.
 */
export function pythonOf(mlflowBin: string): string | undefined {
  let head: string;
  try {
    head = readFileSync(realpathSync(mlflowBin), 'utf8').slice(0, 1024);
  } catch {
    return undefined;
  }
  const [first = '', second = ''] = head.split('\n');
  const viaSh = /^#!\s*\/bin\/sh\s*$/.test(first) ? /^'''exec' (?:"([^"]+)"|(\S+)) "\$0" "\$@"/.exec(second) : null;
  const python = viaSh === null ? /^#!\s*(\S+)\s*$/.exec(first)?.[1] : (viaSh[1] ?? viaSh[2]);
  return python !== undefined && /^python[\d.]*$/.test(basename(python)) && existsSync(python) ? python : undefined;
}

export interface ServerCommand {
  readonly file: string;
  readonly args: readonly string[];
  /** `one-process` (the launcher) or `cli` (`mlflow server`). */
  readonly kind: 'one-process' | 'cli';
}

/** The command for `mlflow server <serverArgs>`. */
export function serverCommand(mlflowBin: string, serverArgs: readonly string[], env: Readonly<Record<string, string | undefined>>): ServerCommand {
  const python = env['TRANSFERKIT_MLFLOW_SERVER'] === 'cli' ? undefined : pythonOf(mlflowBin);
  if (python === undefined || !existsSync(LAUNCHER)) return { file: mlflowBin, args: ['server', ...serverArgs], kind: 'cli' };
  return { file: python, args: [LAUNCHER, ...serverArgs], kind: 'one-process' };
}
