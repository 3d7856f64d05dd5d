/**
 * `transferkit sweep`: a grid (or a seeded random part of it) of `train` runs, each a child run
 * nested under one parent run, the best point and a summary logged on the parent. Validation errors
 * exit 2 before any child starts; under `mlflow run` the parent then ends FAILED with the message.
 */
import { join } from 'node:path';
import { endWithFailure } from './end-with-failure.js';
import { EXIT_INTERRUPTED } from './failure.js';
import { parseFlags } from './args.js';
import { trackingEnabled, type EntryDeps } from './train.js';
import { ParamError } from '../errors.js';
import { failRun } from '../tracking/run-tracking.js';
import { TrackingSession, userName } from '../tracking/session.js';
import { VERSION } from '../version.js';
import { TRAIN_DEFAULTS } from '../pipeline/params/defaults.js';
import { defaultConcurrency } from '../sweep/concurrency.js';
import { specHash } from '../sweep/grid.js';
import { reportSweep } from '../sweep/report.js';
import { executeSweep } from '../sweep/run-sweep.js';
import { TAG } from '../sweep/runs.js';
import { buildSpec, splitRaw, type SweepSpec } from '../sweep/spec.js';
import { summaryMarkdown } from '../sweep/summary.js';

/** The sweep parameters' texts when absent, as the MLproject declares them. */
const SWEEP_DEFAULTS: Readonly<Record<string, string>> = { grid: '', fixed: '', random: '0', sweep_seed: '0', concurrency: 'auto', force: '0' };

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));


function parentParams(raw: Readonly<Record<string, string | undefined>>, spec: SweepSpec): Record<string, string> {
  const { sweep } = splitRaw(raw);
  const given = Object.fromEntries(Object.entries(SWEEP_DEFAULTS).map(([k, d]) => [k, sweep[k] ?? d]));
  return {
    ...given,
    ...spec.fixed,
    effective_concurrency: String(spec.concurrency),
    grid_points: String(spec.gridSize),
    sweep_points: String(spec.points.length),
  };
}

async function openParent(deps: EntryDeps, params: Record<string, string>, runName?: string): Promise<TrackingSession> {
  return TrackingSession.open({ ...deps, sleep }, { params, ...(runName === undefined ? {} : { runName }) });
}

export async function sweepCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  let session: TrackingSession | undefined;
  const timing = { waitMs: 60_000, now: deps.now };
  try {
    if (!trackingEnabled(deps.env)) throw new ParamError('TRANSFERKIT_TRACKING', 'transferkit sweep needs MLflow tracking (it nests runs and reads their metrics); unset TRANSFERKIT_TRACKING');
    const raw = parseFlags(argv);
    const spec = buildSpec(raw, defaultConcurrency());
    const hash = specHash(spec.dimensions, spec.fixed, VERSION, TRAIN_DEFAULTS);
    session = await openParent(deps, parentParams(raw, spec), `sweep ${spec.dimensions.map((d) => d.name).join(' x ')}`);
    await session.client.logBatch({ runId: session.runId, tags: { [TAG.specHash]: hash, [TAG.role]: 'parent', 'transferkit.version': VERSION } });
    const dir = join(deps.cwd, 'out', `sweep-${session.runId}`);
    const outcome = await executeSweep(session, spec, hash, {
      env: deps.env, cwd: deps.cwd, now: deps.now, logger: deps.logger, user: userName(deps.env), logDir: join(dir, 'logs'),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    const report = await reportSweep(session, outcome.results, spec.dimensions, dir, spec.fixed);
    deps.stdout.write(summaryMarkdown(outcome.results, spec.dimensions, report.best));
    if (outcome.interrupted) {
      await failRun(session, { message: 'sweep interrupted', code: 'ERR_INTERRUPTED', interrupted: true }, timing);
      deps.stderr.write('transferkit: sweep interrupted; running points were stopped, the rest not started\n');
      return EXIT_INTERRUPTED;
    }
    await session.end('FINISHED');
    deps.stdout.write(`sweep run ${session.runId} at ${session.url}; report in ${join(dir, 'report.html')}\n`);
    return 0;
  } catch (error) {
    // Under `mlflow run` the parent exists already: it ends FAILED with the message, even for bad input.
    const attached = (deps.env['MLFLOW_RUN_ID'] ?? '') !== '';
    if (session === undefined && attached && trackingEnabled(deps.env)) session = await openParent(deps, {}).catch(() => undefined);
    return await endWithFailure(error, deps, session, timing);
  } finally {
    await session?.close();
  }
}
