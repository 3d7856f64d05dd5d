/**
 * Which MLflow run and folders a `train` invocation continues. `resume=<run id>` names the run (its
 * folders default to out/<run id>); `resume=auto` with a fixed output_dir or checkpoint_dir
 * continues the run its newest checkpoint was made for. Under `mlflow run`, the run MLflow just
 * created for the re-run is tagged as pointing to the resumed one.
 */
import { join, resolve } from 'node:path';
import type { Logger } from '../log.js';
import { CheckpointStore } from '../pipeline/checkpoint/store.js';
import type { TrainParams } from '../pipeline/params/train.js';
import type { TrackingSession } from '../tracking/session.js';

export interface ResumeTarget {
  /** The MLflow run to log into, when continuing one. */
  readonly runId?: string;
  /** Else the client token of the run to continue: its checkpoint was written before the run's id was known. */
  readonly runToken?: string;
  readonly checkpointDir: (outputDir: string) => string;
}

export function checkpointDirFor(params: Pick<TrainParams, 'checkpoint_dir'>, cwd: string, outputDir: string): string {
  return params.checkpoint_dir === undefined ? join(outputDir, 'checkpoints') : resolve(cwd, params.checkpoint_dir);
}

/** The run to continue, from `resume` or from the newest checkpoint in a fixed folder. */
export async function resumeTarget(params: TrainParams, cwd: string, logger: Logger): Promise<ResumeTarget> {
  const checkpointDir = (outputDir: string) => checkpointDirFor(params, cwd, outputDir);
  if (params.resume !== 'auto' && params.resume !== 'never') return { runId: params.resume, checkpointDir };
  if (params.resume === 'never' || (params.output_dir === undefined && params.checkpoint_dir === undefined)) return { checkpointDir };
  const dir = checkpointDir(params.output_dir === undefined ? cwd : resolve(cwd, params.output_dir));
  const latest = await new CheckpointStore(dir, logger).latest();
  const runId = latest?.manifest.run_id ?? undefined;
  const runToken = latest?.manifest.run_token;
  return runId !== undefined ? { runId, checkpointDir } : runToken !== undefined ? { runToken, checkpointDir } : { checkpointDir };
}

/** Under `mlflow run`, tags the run MLflow created for this re-run with the run it resumed. */
export async function pointLauncherRun(session: TrackingSession, env: Readonly<Record<string, string | undefined>>): Promise<void> {
  const launcher = env['MLFLOW_RUN_ID'];
  if (launcher === undefined || launcher === '' || launcher === session.runId) return;
  await session.client.logBatch({
    runId: launcher,
    tags: {
      'transferkit.resumed_into': session.runId,
      'mlflow.note.content': `This launch resumed run ${session.runId}; its metrics, model and status are there.`,
    },
  });
}
