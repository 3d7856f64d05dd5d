/**
 * `transferkit train`: flags → params → pipeline, with logs, a progress line on a TTY, signals and
 * exit codes. Returns the exit code; never calls process.exit itself.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { PipelineEvents } from '../pipeline/events.js';
import { parseParams } from '../pipeline/params/parse.js';
import { trainParamsSchema, type TrainParams } from '../pipeline/params/train.js';
import { runTraining } from '../pipeline/run.js';
import { parseFlags } from './args.js';
import { describeFailure } from './failure.js';
import { progressLine } from './progress.js';

export interface Output {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface EntryDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly stdout: Output;
  readonly stderr: Output;
  readonly logger: Logger;
  /** Aborted on SIGINT/SIGTERM by the caller. */
  readonly signal?: AbortSignal;
}

export function defaultCacheDir(env: EntryDeps['env']): string {
  return env['TRANSFERKIT_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(env['HOME'] ?? homedir(), '.cache'), 'transferkit');
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function outputDirFor(params: TrainParams, deps: Pick<EntryDeps, 'cwd' | 'now'>, runId?: string): string {
  return params.output_dir === undefined ? join(deps.cwd, 'out', runId ?? stamp(deps.now())) : resolve(deps.cwd, params.output_dir);
}

/** Progress lines on a TTY plus a JSON log line per epoch. */
export function consoleEvents(deps: Pick<EntryDeps, 'stdout' | 'logger'>): PipelineEvents {
  return {
    epoch: (m, maxEpochs) => {
      deps.logger.info({ ...m }, 'epoch');
      if (deps.stdout.isTTY === true) deps.stdout.write(`${progressLine(m, maxEpochs)}\n`);
    },
  };
}

export async function trainCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  try {
    const params = parseParams(trainParamsSchema, parseFlags(argv));
    const outputDir = outputDirFor(params, deps);
    const result = await runTraining(params, {
      logger: deps.logger,
      env: deps.env,
      fetch: deps.fetch,
      now: deps.now,
      cwd: deps.cwd,
      cacheDir: params.cache_dir === undefined ? defaultCacheDir(deps.env) : resolve(deps.cwd, params.cache_dir),
      outputDir,
      events: consoleEvents(deps),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    deps.stdout.write(
      `test accuracy ${(result.test.accuracy * 100).toFixed(2)}% (loss ${result.test.loss.toFixed(4)}) on ${result.test.count} images; ` +
        `model in ${result.modelDir}\n`,
    );
    return 0;
  } catch (error) {
    const failure = describeFailure(error);
    deps.logger.error({ code: failure.code, err: failure.userError ? undefined : error }, failure.message.split('\n')[0] ?? '');
    deps.stderr.write(`transferkit: ${failure.message}\n`);
    return failure.exitCode;
  }
}
