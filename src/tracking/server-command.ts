/**
 * How the private `mlflow server` is started. `mlflow server` runs two Python processes that each
 * import MLflow (the CLI, then uvicorn); src/tracking/mlflow_server.py runs MLflow's own `server`
 * command with uvicorn in the same process, which halves the start-up. It needs the Python that runs
 * the `mlflow` executable, read from its `#!` line as the system does.
 *
 * TRANSFERKIT_MLFLOW_SERVER chooses (SERVER_MODES): `auto` (unset or empty: the launcher when the
 * script's Python is found, else `mlflow server`, with the reason logged), `one-process` (the
 * launcher or an error) or `cli` (`mlflow server`).
 */
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { describeValue } from '../errors.js';
import { LocalServerError } from '../mlflow/errors.js';

/** The values of TRANSFERKIT_MLFLOW_SERVER. */
export const serverModeSchema = z.enum(['auto', 'one-process', 'cli']);
export type ServerMode = z.infer<typeof serverModeSchema>;
export const SERVER_MODES = serverModeSchema.options;

/** TRANSFERKIT_MLFLOW_SERVER: unset or empty is `auto`; another value is an error naming it. */
export function serverMode(env: Readonly<Record<string, string | undefined>>): ServerMode {
  const raw = env['TRANSFERKIT_MLFLOW_SERVER'] ?? '';
  const parsed = serverModeSchema.safeParse(raw === '' ? 'auto' : raw);
  if (parsed.success) return parsed.data;
  throw new LocalServerError(
    `TRANSFERKIT_MLFLOW_SERVER is ${describeValue(raw)}; expected one of ${SERVER_MODES.join(', ')} (unset: auto)`,
    { code: 'ERR_MLFLOW_SERVER_MODE' },
  );
}

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
  /** Set when `auto` could not use the launcher: why `mlflow server` runs instead (to be logged). */
  readonly fallback?: string;
}

/** The command for `mlflow server <serverArgs>`, as TRANSFERKIT_MLFLOW_SERVER asks. */
export function serverCommand(mlflowBin: string, serverArgs: readonly string[], env: Readonly<Record<string, string | undefined>>): ServerCommand {
  const mode = serverMode(env);
  const cli = { file: mlflowBin, args: ['server', ...serverArgs], kind: 'cli' } as const;
  if (mode === 'cli') return cli;
  const python = pythonOf(mlflowBin);
  const missing = python === undefined
    ? `${mlflowBin} is not a Python console script whose #! line names an existing python`
    : existsSync(LAUNCHER) ? undefined : `the launcher ${LAUNCHER} is missing`;
  if (python !== undefined && missing === undefined) return { file: python, args: [LAUNCHER, ...serverArgs], kind: 'one-process' };
  const why = missing ?? 'the launcher cannot be used';
  if (mode === 'one-process') {
    throw new LocalServerError(`TRANSFERKIT_MLFLOW_SERVER is "one-process", but ${why}; expected one of ${SERVER_MODES.join(', ')} that fits (auto or cli run \`mlflow server\`)`, { code: 'ERR_MLFLOW_SERVER_MODE' });
  }
  return { ...cli, fallback: why };
}
