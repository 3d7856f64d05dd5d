/**
 * The MLflow run of `train`, opened while the run prepares and trains: a local store's private mlflow
 * server takes seconds to start, so nothing waits for it until the run's end (src/tracking/pending-session.ts
 * holds what is logged meanwhile). Only a new run whose output folder is named after its id
 * (out/<run id>) waits for the server before it writes anything.
 */
import type { Logger } from '../log.js';
import { ParamError } from '../errors.js';
import { MlflowApiError } from '../mlflow/errors.js';
import type { LaterRunId } from '../pipeline/deps.js';
import type { OpenedSession, PendingSession } from '../tracking/pending-session.js';
import { TrackingSession, type TrackingDeps } from '../tracking/session.js';
import { pointLauncherRun, type ResumeTarget } from './resume.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Opens the run to log into: a resumed one by id (named in the error when it does not exist) or by
 * the client token its checkpoint recorded (a new run with that token when the server never created
 * it), else as usual; a new run is created with `token`.
 */
export async function openSession(
  deps: Omit<TrackingDeps, 'sleep'>,
  params: Record<string, string>,
  target: Pick<ResumeTarget, 'runId' | 'runToken'> | undefined,
  token: string,
): Promise<TrackingSession> {
  const runId = target?.runId;
  const options = { params, clientToken: token, reuseToken: target?.runToken !== undefined, ...(runId === undefined ? {} : { runId }) };
  const session = await TrackingSession.open({ ...deps, sleep }, options).catch((error: unknown) => {
    if (runId !== undefined && error instanceof MlflowApiError && error.status === 404) {
      throw new ParamError('resume', `Parameter "resume" names the MLflow run ${runId}, which the tracking server does not have; expected the id of an earlier run`, { cause: error });
    }
    throw error;
  });
  if (runId !== undefined || session.foundByToken) {
    await pointLauncherRun(session, deps.env);
    session.queue({ tags: { 'transferkit.resumed': 'true' } });
    deps.logger.info({ run_id: session.runId }, 'continuing an earlier MLflow run');
  }
  return session;
}

/** The run's id before the server answers: a resumed run's, or the one `mlflow run` created (MLFLOW_RUN_ID); else undefined. */
export function knownRunId(target: Pick<ResumeTarget, 'runId'> | undefined, env: Readonly<Record<string, string | undefined>>): string | undefined {
  const launcher = env['MLFLOW_RUN_ID'];
  return target?.runId ?? (launcher === undefined || launcher === '' ? undefined : launcher);
}

/**
 * The pipeline's view of the pending run's id. `settled` is what the run's end waits for; how long
 * it waited is logged (`waited_ms`, after: 'training').
 */
export function laterRunId(pending: Pick<PendingSession<OpenedSession>, 'runId' | 'opened'>, token: string, deps: { readonly now: () => number; readonly logger: Logger }): LaterRunId {
  return {
    token,
    current: () => pending.runId,
    settled: async () => {
      const from = deps.now();
      const session = await pending.opened;
      deps.logger.debug({ waited_ms: Math.max(0, deps.now() - from), after: 'training' }, 'waited this long for the MLflow run');
      return session.runId;
    },
  };
}

/** `work`'s result; rejected as soon as `opening` fails (the run cannot go on), without waiting for `work`. */
export function unlessOpeningFails<T>(work: Promise<T>, opening: Promise<unknown> | undefined): Promise<T> {
  return opening === undefined ? work : Promise.race([work, opening.then(() => work)]);
}
