/**
 * Runs a validated sweep under an open parent run: skips points an earlier sweep with the same spec
 * hash finished (unless force), then runs the rest as child processes, at most `concurrency` at a
 * time. A failed child is recorded and the sweep goes on; an abort stops every child and starts no more.
 */
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { RunStatus } from '../mlflow/schemas.js';
import type { TrackingSession } from '../tracking/session.js';
import { runChild } from './child.js';
import { pointKey, type Point } from './grid.js';
import { createChildRun, finishedPoints, readResult, TAG, type PointResult } from './runs.js';
import type { SweepSpec } from './spec.js';

export interface SweepDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  readonly now: () => number;
  readonly logger: Logger;
  readonly user: string;
  /** Each child's stderr goes to <logDir>/<run id>.log. */
  readonly logDir: string;
  readonly signal?: AbortSignal;
}

/** Runs `worker` over `items` with at most `limit` at once; stops taking new items once `stop()` is true. */
export async function boundedPool<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length && !stop()) {
      const item = items[next++] as T;
      await worker(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
}

const TERMINAL: readonly RunStatus[] = ['FINISHED', 'FAILED', 'KILLED'];

async function runPoint(session: TrackingSession, spec: SweepSpec, hash: string, point: Point, deps: SweepDeps): Promise<PointResult> {
  const { client } = session;
  const key = pointKey(point);
  const params = { ...spec.fixed, ...point };
  const runId = await createChildRun(client, {
    experimentId: session.experimentId, parentRunId: session.runId, specHash: hash, point, params, user: deps.user, now: deps.now(),
  });
  const logFile = join(deps.logDir, `${runId}.log`);
  deps.logger.info({ point: key, run_id: runId, log: logFile }, 'sweep point started');
  const outcome = await runChild({
    runId, params, trackingUri: session.url, env: deps.env, cwd: deps.cwd, logFile,
    ...(deps.signal === undefined ? {} : { signal: deps.signal }),
  });
  const interrupted = deps.signal?.aborted === true;
  if (outcome.exitCode !== 0) {
    const error = outcome.error ?? `exited with ${outcome.signal ?? `code ${String(outcome.exitCode)}`}`;
    const run = await client.getRun(runId);
    await client.logBatch({ runId, tags: { [TAG.error]: error, [TAG.exitCode]: String(outcome.exitCode ?? outcome.signal ?? ''), [TAG.log]: logFile } });
    // A child that died without ending its run (killed, crashed) is ended here.
    if (!TERMINAL.includes(run.info.status) || run.info.status === 'FINISHED') {
      await client.updateRun({ runId, status: interrupted ? 'KILLED' : 'FAILED', endTime: deps.now() });
    }
    deps.logger.warn({ point: key, run_id: runId, exit_code: outcome.exitCode, error }, 'sweep point failed');
  } else deps.logger.info({ point: key, run_id: runId }, 'sweep point finished');
  return readResult(client, runId, point, false);
}

export interface SweepOutcome {
  readonly results: PointResult[];
  readonly skipped: number;
  readonly interrupted: boolean;
}

export async function executeSweep(session: TrackingSession, spec: SweepSpec, hash: string, deps: SweepDeps): Promise<SweepOutcome> {
  const previous = spec.force ? new Map() : await finishedPoints(session.client, session.experimentId, hash);
  const results = new Map<string, PointResult>();
  const todo: Point[] = [];
  for (const point of spec.points) {
    const earlier = previous.get(pointKey(point));
    if (earlier === undefined) todo.push(point);
    else results.set(pointKey(point), await readResult(session.client, earlier.info.run_id, point, true));
  }
  deps.logger.info({ points: spec.points.length, skipped: results.size, to_run: todo.length, concurrency: spec.concurrency }, 'sweep starting');
  await boundedPool(
    todo,
    spec.concurrency,
    async (point) => {
      try {
        results.set(pointKey(point), await runPoint(session, spec, hash, point, deps));
      } catch (error) {
        // The tracking server failed for this point; record it and go on with the others.
        const message = error instanceof Error ? error.message : String(error);
        deps.logger.error({ point: pointKey(point), reason: message }, 'sweep point could not be tracked');
        results.set(pointKey(point), { point, key: pointKey(point), runId: '', status: 'FAILED', skipped: false, error: message });
      }
    },
    () => deps.signal?.aborted === true,
  );
  const ordered = spec.points.map(
    (p): PointResult => results.get(pointKey(p)) ?? { point: p, key: pointKey(p), runId: '', status: 'NOT_RUN', skipped: false },
  );
  return { results: ordered, skipped: ordered.filter((r) => r.skipped).length, interrupted: deps.signal?.aborted === true };
}
