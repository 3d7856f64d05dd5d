/**
 * One sweep point as its own process: `node dist/entry/cli.js train --k v ...` attached to its
 * pre-created run through MLFLOW_RUN_ID. The parent's own MLFLOW_RUN_ID never reaches a child.
 * Aborting sends SIGTERM (the child ends its run KILLED), then SIGKILL after a grace period.
 */
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { z } from 'zod';

export const CLI_PATH = fileURLToPath(new URL('../entry/cli.js', import.meta.url));

export interface ChildSpec {
  readonly runId: string;
  readonly params: Readonly<Record<string, string>>;
  readonly trackingUri: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly signal?: AbortSignal;
  /** A file that gets the child's whole stderr (its JSON log lines and error). */
  readonly logFile?: string;
}

export interface ChildOutcome {
  readonly exitCode: number | undefined;
  readonly signal: string | undefined;
  /** The child's last error line: its `transferkit: ...` message, else its last stderr line. */
  readonly error: string | undefined;
}

/** The environment a child gets: the caller's, without MLflow's run variable, plus its own run. */
export function childEnvironment(env: ChildSpec['env'], runId: string, trackingUri: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined && k !== 'MLFLOW_RUN_ID') out[k] = v;
  return { ...out, MLFLOW_RUN_ID: runId, MLFLOW_TRACKING_URI: trackingUri };
}

export function childArgs(params: Readonly<Record<string, string>>): string[] {
  return ['train', ...Object.entries(params).flatMap(([k, v]) => [`--${k}=${v}`])];
}

const jsonError = z.object({ level: z.number().min(50), msg: z.string() });

/** A pino error line (log_format=json) as the text line would say it. */
function errorOfJson(line: string): string | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const parsed = jsonError.safeParse(JSON.parse(line));
    return parsed.success ? `transferkit: ${parsed.data.msg}` : undefined;
  } catch {
    return undefined;
  }
}

/** The line that says what went wrong: the CLI's own "transferkit: ..." line (or JSON error line), else the last one. */
export function lastErrorLine(stderr: string): string | undefined {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '').map((l) => errorOfJson(l) ?? l);
  const own = lines.filter((l) => l.startsWith('transferkit: ')).at(-1);
  const last = own ?? lines.at(-1);
  return last === undefined ? undefined : last.slice(0, 2000);
}

export async function runChild(spec: ChildSpec): Promise<ChildOutcome> {
  let stderr = '';
  if (spec.logFile !== undefined) await mkdir(dirname(spec.logFile), { recursive: true });
  const log = spec.logFile === undefined ? undefined : createWriteStream(spec.logFile);
  const child = execa(process.execPath, [CLI_PATH, ...childArgs(spec.params)], {
    env: childEnvironment(spec.env, spec.runId, spec.trackingUri),
    extendEnv: false,
    cwd: spec.cwd,
    reject: false,
    stdout: 'ignore',
    stderr: 'pipe',
    buffer: false,
    forceKillAfterDelay: 30_000,
    // execa's cleanup hooks SIGTERM/SIGINT through signal-exit, which re-raises the signal once the
    // CLI's own one-shot handler has run and kills the parent before it can stop its children.
    cleanup: false,
    ...(spec.signal === undefined ? {} : { cancelSignal: spec.signal }),
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-64_000);
    log?.write(chunk);
  });
  const result = await child;
  if (log !== undefined) await new Promise<void>((resolve) => log.end(resolve));
  return { exitCode: result.exitCode, signal: result.signal, error: lastErrorLine(stderr) };
}
