/**
 * The sweep's MLflow side: child runs nested under the parent, earlier finished children found by
 * spec hash and point key (resume), and each child's result read back from the server.
 */
import type { MlflowClient } from '../mlflow/client.js';
import type { Run, RunStatus } from '../mlflow/schemas.js';
import { pointKey, type Point } from './grid.js';

export const TAG = {
  point: 'transferkit.sweep.point',
  specHash: 'transferkit.sweep.spec_hash',
  error: 'transferkit.sweep.error',
  exitCode: 'transferkit.sweep.exit_code',
  /** Where the failed child's stderr is, on the machine that ran the sweep. */
  log: 'transferkit.sweep.log',
  role: 'transferkit.sweep.role',
} as const;

export interface PointResult {
  readonly point: Point;
  readonly key: string;
  readonly runId: string;
  readonly status: RunStatus | 'NOT_RUN';
  /** val_accuracy at the child's best_epoch (the epoch whose weights it kept). */
  readonly valAccuracy?: number;
  readonly testAccuracy?: number;
  readonly trainSeconds?: number;
  /** True when the result comes from an earlier sweep's run (resume). */
  readonly skipped: boolean;
  readonly error?: string;
}

export interface ChildRunOptions {
  readonly experimentId: string;
  readonly parentRunId: string;
  readonly specHash: string;
  readonly point: Point;
  /** The point's full train parameters as given (fixed + swept), logged before the child starts. */
  readonly params: Readonly<Record<string, string>>;
  readonly user: string;
  readonly now: number;
}

export async function createChildRun(client: MlflowClient, o: ChildRunOptions): Promise<string> {
  const key = pointKey(o.point);
  const run = await client.createRun({
    experimentId: o.experimentId,
    startTime: o.now,
    runName: key,
    tags: {
      'mlflow.parentRunId': o.parentRunId,
      'mlflow.source.name': 'transferkit sweep',
      'mlflow.source.type': 'LOCAL',
      'mlflow.user': o.user,
      [TAG.point]: key,
      [TAG.specHash]: o.specHash,
      [TAG.role]: 'child',
    },
  });
  await client.logBatch({ runId: run.info.run_id, params: o.params });
  return run.info.run_id;
}

const tagOf = (run: Run, key: string) => run.data.tags.find((t) => t.key === key)?.value;
const metricOf = (run: Run, key: string) => run.data.metrics.find((m) => m.key === key)?.value;

/** FINISHED child runs of earlier sweeps with this spec hash, by point key (the newest wins). */
export async function finishedPoints(client: MlflowClient, experimentId: string, specHash: string): Promise<Map<string, Run>> {
  const found = new Map<string, Run>();
  const filter = `tags.\`${TAG.specHash}\` = '${specHash}' and attributes.status = 'FINISHED'`;
  for await (const run of client.iterateRuns({ experimentIds: [experimentId], filter, orderBy: ['attributes.start_time DESC'] })) {
    const key = tagOf(run, TAG.point);
    if (key !== undefined && !found.has(key)) found.set(key, run);
  }
  return found;
}

/** val_accuracy at step best_epoch; the last val_accuracy when best_epoch is missing. */
async function valAtBestEpoch(client: MlflowClient, run: Run): Promise<number | undefined> {
  const history = await client.getMetricHistory(run.info.run_id, 'val_accuracy');
  if (history.length === 0) return undefined;
  const best = metricOf(run, 'best_epoch');
  const atBest = history.filter((m) => m.step === best).sort((a, b) => b.timestamp - a.timestamp)[0];
  return (atBest ?? [...history].sort((a, b) => a.step - b.step || a.timestamp - b.timestamp).at(-1))?.value;
}

/** The child's result as the server has it now. */
export async function readResult(client: MlflowClient, runId: string, point: Point, skipped: boolean): Promise<PointResult> {
  const run = await client.getRun(runId);
  const finished = run.info.status === 'FINISHED';
  const val = finished ? await valAtBestEpoch(client, run) : undefined;
  const test = metricOf(run, 'test_accuracy');
  const seconds = metricOf(run, 'train_seconds');
  const error = tagOf(run, TAG.error) ?? tagOf(run, 'transferkit.error')?.split('\n')[0];
  return {
    point,
    key: pointKey(point),
    runId,
    status: run.info.status,
    skipped,
    ...(val === undefined ? {} : { valAccuracy: val }),
    ...(test === undefined || !finished ? {} : { testAccuracy: test }),
    ...(seconds === undefined ? {} : { trainSeconds: seconds }),
    ...(error === undefined || finished ? {} : { error }),
  };
}

/** The best finished point by validation accuracy (never test accuracy); ties keep grid order. */
export function bestResult(results: readonly PointResult[]): PointResult | undefined {
  let best: PointResult | undefined;
  for (const r of results) {
    if (r.status !== 'FINISHED' || r.valAccuracy === undefined || Number.isNaN(r.valAccuracy)) continue;
    if (best?.valAccuracy === undefined || r.valAccuracy > best.valAccuracy) best = r;
  }
  return best;
}
