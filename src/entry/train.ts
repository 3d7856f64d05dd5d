/**
 * `transferkit train`: flags → params → pipeline, with logs, a progress line on a TTY, signals and
 * exit codes. Returns the exit code; never calls process.exit itself.
 */
import { randomUUID } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import type { LogFormat } from '../output/options.js';
import type { Progress } from '../pipeline/progress.js';
import { transferkitCacheDir } from '../pipeline/cache-dirs.js';
import { mergeEvents, type PipelineEvents } from '../pipeline/events.js';
import { ParamError, describeValue } from '../errors.js';
import { faultHooks } from '../faults.js';
import { CheckpointStore } from '../pipeline/checkpoint/store.js';
import { parseParams } from '../pipeline/params/parse.js';
import { trainParamsSchema, type TrainParams } from '../pipeline/params/train.js';
import { TRAIN_DEFAULTS } from '../pipeline/params/defaults.js';
import { runTraining } from '../pipeline/run.js';
import { prepareRun, type PrepareDeps, type PreparedRun } from '../pipeline/prepare-run.js';
import { parseFlags } from './args.js';
import { endWithFailure } from './end-with-failure.js';
import { checkpointDirFor, resumeTarget } from './resume.js';
import { knownRunId, laterRunId, openSession, unlessOpeningFails } from './train-tracking.js';
import { paramsAsGiven } from '../tracking/run-params.js';
import { completeRun, trackingEvents } from '../tracking/run-tracking.js';
import { PendingSession } from '../tracking/pending-session.js';
import type { StartServer, TrackingSession } from '../tracking/session.js';
import { runPageUrl } from '../tracking/ui-links.js';
import { trackingEnabled } from './tracking-enabled.js';

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
  /** Live progress of long steps (bars on a terminal); absent = none. */
  readonly progress?: Progress;
  /** How errors are said (src/entry/end-with-failure.ts): default a `transferkit:` line on stderr. */
  readonly logFormat?: LogFormat;
  /** Errors with their stack trace. */
  readonly debug?: boolean;
  /** Aborted on SIGINT/SIGTERM by the caller. */
  readonly signal?: AbortSignal;
  /** Starts the private `mlflow server` of a local store (default: startLocalServer); a test hook. */
  readonly startServer?: StartServer;
}

function stamp(now: number): string {
  return new Date(now).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

export function outputDirFor(params: Pick<TrainParams, 'output_dir'>, deps: Pick<EntryDeps, 'cwd' | 'now'>, runId?: string): string {
  return params.output_dir === undefined ? join(deps.cwd, 'out', runId ?? stamp(deps.now())) : resolve(deps.cwd, params.output_dir);
}

/** One log event per epoch (a readable progress line in text mode, a JSON object in json mode). */
export function consoleEvents(deps: Pick<EntryDeps, 'logger'>): PipelineEvents {
  return {
    epoch: (m, context) => {
      if (context.replayed === true) return;
      // the epoch's own end time is not pino's "time" (the line's): a JSON key said once
      const { time, ...metrics } = m;
      deps.logger.info({ ...metrics, ended_at: time, phase: context.phase, max_epochs: context.maxEpochs }, 'epoch');
    },
  };
}

/** `fetch` that gives up (AbortError) once `signal` is aborted, on top of the caller's own signal. */
export function abortableFetch(fetch: typeof globalThis.fetch, signal: AbortSignal): typeof globalThis.fetch {
  return (input, init) => fetch(input, { ...init, signal: init?.signal == null ? signal : AbortSignal.any([init.signal, signal]) });
}

/**
 * What every pipeline gets from the entry before the output folder is known: injected globals and
 * the cache folder. With `stop`, that signal or deps.signal (Ctrl-C) ends the downloads and the steps.
 */
export function prepareDeps(deps: EntryDeps, cacheDir: string | undefined, stop?: AbortSignal): PrepareDeps {
  const signal = stop === undefined ? deps.signal : deps.signal === undefined ? stop : AbortSignal.any([stop, deps.signal]);
  return {
    logger: deps.logger,
    ...(deps.progress === undefined ? {} : { progress: deps.progress }),
    ...(signal === undefined ? {} : { signal }),
    env: deps.env,
    fetch: signal === undefined ? deps.fetch : abortableFetch(deps.fetch, signal),
    now: deps.now,
    cwd: deps.cwd,
    cacheDir: cacheDir === undefined ? transferkitCacheDir(deps.env) : resolve(deps.cwd, cacheDir),
  };
}

/** The same with the output folder. */
export function pipelineDeps(deps: EntryDeps, cacheDir: string | undefined, outputDir: string) {
  return { ...prepareDeps(deps, cacheDir), outputDir };
}

export { trackingEnabled } from './tracking-enabled.js';

export function waitMs(env: EntryDeps['env']): number {
  const seconds = Number(env['TRANSFERKIT_MLFLOW_WAIT_SECONDS'] ?? '120');
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : 120) * 1000;
}

export { sleep } from './train-tracking.js';

export async function trainCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  let session: TrackingSession | undefined;
  let pending: PendingSession | undefined;
  let outputDir: string | undefined;
  const timing = { waitMs: waitMs(deps.env), now: deps.now };
  // ends the data work and training when the run cannot go on: tracking failed to start (or the data failed)
  const stop = new AbortController();
  let trackingFailed = false;
  try {
    const raw = parseFlags(argv);
    // Parse first (a resumed run decides which MLflow run to open); a bad value still ends a run FAILED.
    let params: TrainParams | undefined;
    let invalid: unknown;
    try {
      params = parseParams(trainParamsSchema, raw);
    } catch (error) {
      invalid = error;
    }
    const target = params === undefined ? undefined : await resumeTarget(params, deps.cwd, deps.logger);
    // a new MLflow run's client token, recorded in checkpoints written before the server gives its id
    const runToken = target?.runToken ?? randomUUID();
    // A local store's private mlflow server takes seconds to start: the run loads its data and trains
    // meanwhile, what it logs is held until the MLflow run exists, and the run's end waits for it.
    if (trackingEnabled(deps.env)) {
      pending = new PendingSession(openSession(deps, paramsAsGiven(raw, TRAIN_DEFAULTS), target, runToken), deps.now);
      pending.opened.catch(() => {
        if (!stop.signal.aborted) trackingFailed = true;
        stop.abort();
      });
    }
    const opened = async (): Promise<TrackingSession | undefined> => (session = await pending?.opened);
    if (params === undefined) {
      await opened();
      throw invalid;
    }
    if (params.register_model !== undefined && pending === undefined) {
      throw new ParamError('register_model', `Parameter "register_model" is ${describeValue(params.register_model)}, but MLflow tracking is off (TRANSFERKIT_TRACKING=${deps.env['TRANSFERKIT_TRACKING'] ?? ''}); registering a model needs the tracking server`);
    }
    const runId = knownRunId(target, deps.env);
    // out/<run id> is named by the server: only then the run waits for it before writing anything
    const waitForRun = pending !== undefined && runId === undefined && params.output_dir === undefined;
    let prepared: PreparedRun | undefined;
    let preparing: Promise<PreparedRun> | undefined;
    try {
      let preparedAt = 0;
      preparing = prepareRun(params, prepareDeps(deps, params.cache_dir, stop.signal)).finally(() => (preparedAt = deps.now()));
      if (!waitForRun) prepared = await unlessOpeningFails(preparing, pending?.opened);
      else {
        [prepared] = await Promise.all([preparing, opened()]);
        deps.logger.debug({ waited_ms: Math.max(0, deps.now() - preparedAt), after: 'data' }, 'waited this long for the MLflow run');
      }
    } catch (error) {
      stop.abort();
      // the data work stops at its next step: wait for it, so that none of it runs (logs, writes the
      // cache) after the command has ended; its own error is the abort's or comes after `error`
      await preparing?.catch(() => undefined);
      // the data failed while the server was starting: the run still ends FAILED with the reason
      if (session === undefined) await pending?.opened.then((s) => (session = s), () => undefined);
      // a download cut by Ctrl-C fails as a DownloadError: the run was interrupted
      throw deps.signal?.aborted === true ? deps.signal.reason : error;
    }
    outputDir = outputDirFor(params, deps, runId ?? session?.runId);
    const checkpointDir = checkpointDirFor(params, deps.cwd, outputDir);
    const faults = faultHooks(deps.env);
    const result = await runTraining(params, {
      ...prepareDeps(deps, params.cache_dir, stop.signal),
      outputDir,
      checkpointDir,
      faults,
      events: mergeEvents(consoleEvents(deps), pending === undefined ? undefined : trackingEvents(pending)),
      ...(pending === undefined ? {} : { runId: runId ?? session?.runId ?? laterRunId(pending, runToken, deps) }),
    }, prepared);
    await opened();
    const completed =
      session === undefined
        ? undefined
        : await completeRun(session, result, {
            ...timing,
            resumed: result.resumed === true,
            ...(faults.beforeUpload === undefined ? {} : { beforeUpload: faults.beforeUpload }),
            ...(params.register_model === undefined ? {} : { registerModel: params.register_model }),
          });
    // the run is complete and recorded: its checkpoints have served their purpose
    await new CheckpointStore(checkpointDir, deps.logger).clear();
    deps.stdout.write(
      `test accuracy ${(result.test.accuracy * 100).toFixed(2)}% (loss ${result.test.loss.toFixed(4)}) on ${result.test.count} images; ` +
        `model in ${result.modelDir}${session === undefined ? '' : `; MLflow run ${session.runId} at ${runPageUrl(session.url, session.experimentId, session.runId)}`}` +
        `${completed?.registered === undefined ? '' : `; registered as ${completed.registered.uri}`}\n`,
    );
    return 0;
  } catch (error) {
    stop.abort(); // a later failure to start tracking is not this run's error
    // training failed while the server was starting: the run still ends FAILED (KILLED) with the reason
    if (session === undefined) await pending?.opened.then((s) => (session = s), () => undefined);
    // the data work or training was stopped because tracking failed to start: that is the error
    const cause = trackingFailed && pending?.failure !== undefined ? pending.failure.error : error;
    // awaited: `finally` stops a local store's server, which must still take the run's FAILED status
    return await endWithFailure(cause, deps, session, { ...timing, ...(outputDir === undefined ? {} : { outputDir }) });
  } finally {
    await session?.close();
  }
}
