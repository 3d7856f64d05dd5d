/**
 * What the pipeline's events become in MLflow: params and tags at start, one metric point per
 * epoch metric (step = epoch), test metrics, the model folder (an MLflow Model, also logged as an
 * MLflow 3 logged model, and registered when asked) and reports as artifacts, and a status that is
 * FINISHED only once all of that has landed.
 */
import { join } from 'node:path';
import { TransferkitError } from '../errors.js';
import { writeFileAtomic } from '../fs-atomic.js';
import type { PipelineEvents, RunFinished } from '../pipeline/events.js';
import { PER_CLASS_TABLE } from '../pipeline/export/reports.js';
import { VERSION } from '../version.js';
import { finishLoggedModel, markUploadFailed, MODEL_ARTIFACT_PATH, prepareLoggedModel, type LoggedRunModel } from './logged-model.js';
import { registerRunModel, type Registration } from './register.js';
import { publishReport, REPORT_ARTIFACT } from './report-link.js';
import type { RunLog } from './pending-session.js';
import type { TrackingSession } from './session.js';

/** The server did not take the run's data within the allowed time; everything is kept on disk. */
export class TrackingUnavailableError extends TransferkitError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super('ERR_TRACKING_UNAVAILABLE', message, { ...options, userError: true });
  }
}

/** Into the session, or into a session still opening (pending-session.ts), which holds the calls. */
export function trackingEvents(session: RunLog): PipelineEvents {
  return {
    started: (event) => {
      session.queue({
        params: Object.fromEntries(Object.entries(event.resolvedParams).map(([k, v]) => [`effective_${k}`, v])),
        tags: event.tags,
      });
    },
    epoch: (m, context) => {
      const { epoch, stage, time, ...values } = m;
      // the run's own model keeps the plain names (and its stage); baselines get a prefix. The
      // epoch's own end time is the timestamp, so a resumed run re-sends identical points (deduplicated).
      if (context.phase === 'target') session.logMetrics({ ...values, stage }, epoch, time);
      else session.logMetrics(Object.fromEntries(Object.entries(values).map(([k, v]) => [`${context.phase}_${k}`, v])), epoch, time);
    },
  };
}

async function writePending(session: TrackingSession, outputDir: string): Promise<string> {
  const file = join(outputDir, 'mlflow-pending.json');
  await writeFileAtomic(
    file,
    `${JSON.stringify(
      {
        tracking_uri: session.url,
        run_id: session.runId,
        params: session.buffer.pendingParams,
        tags: session.buffer.pendingTags,
        metrics: session.buffer.pending,
      },
      null,
      2,
    )}\n`,
  );
  return file;
}

async function drainOrKeep(session: TrackingSession, outputDir: string, waitMs: number, now: () => number): Promise<void> {
  if (await session.buffer.drain(waitMs, now)) return;
  const file = await writePending(session, outputDir);
  const reason = session.buffer.lastError instanceof Error ? `: ${session.buffer.lastError.message}` : '';
  throw new TrackingUnavailableError(
    `The MLflow server at ${session.url} did not take the run's metrics within ${Math.round(waitMs / 1000)} s${reason}. ` +
      `Nothing is lost: the model and metrics are in ${outputDir}, and the ${session.buffer.pending.length} unsent metric points in ${file}.`,
    { cause: session.buffer.lastError },
  );
}

/** The run's result in a sentence, under the report link in the run's description. */
export function reportLead(result: RunFinished): string {
  const line = `Test accuracy ${(result.test.accuracy * 100).toFixed(2)}% on ${result.test.count} images.`;
  const more = result.tags['transferkit.transfer_vs_scratch'] ?? result.tags['transferkit.adaptation_summary'];
  return more === undefined ? line : `${line} ${more}.`;
}

export interface CompleteOptions {
  readonly waitMs: number;
  readonly now: () => number;
  /** The run continued from a checkpoint: closing metrics it already has are not logged again. */
  readonly resumed?: boolean;
  /** Test hook before the model upload (fault injection, src/faults.ts). */
  readonly beforeUpload?: () => void;
  /** `register_model`: register the run's model as a new version of this registered model. */
  readonly registerModel?: string;
}

export interface CompletedRun {
  /** The run's model as an MLflow 3 logged model (`m-…`). */
  readonly modelId: string;
  readonly registered?: Registration;
}

export async function completeRun(session: TrackingSession, result: RunFinished, options: CompleteOptions): Promise<CompletedRun> {
  const test: Record<string, number> = {
    test_loss: result.test.loss,
    test_accuracy: result.test.accuracy,
    best_epoch: result.bestEpoch,
    stopped_early: result.stoppedEarly ? 1 : 0,
    train_seconds: result.trainSeconds,
    total_seconds: result.totalSeconds,
  };
  // per-class accuracy is a table (evaluation/per_class_accuracy.json), not metrics: MLflow's run page
  // would chart them first, as single-step bars in their own section, ahead of the learning curves
  const closing: Record<string, number> = { ...test, ...result.metrics };
  if (options.resumed === true) {
    // a resumed run may have logged these before it was interrupted: never a second point
    const have = new Set(((await session.client.getRun(session.runId)).data.metrics ?? []).map((m) => m.key));
    for (const key of Object.keys(closing)) if (have.has(key)) delete closing[key];
  }
  session.logMetrics(closing, 0);
  session.queue({ tags: result.tags });
  await drainOrKeep(session, result.outputDir, options.waitMs, options.now);
  let logged: LoggedRunModel | undefined;
  try {
    options.beforeUpload?.();
    logged = await prepareLoggedModel(session, {
      modelDir: result.modelDir,
      classNames: result.classNames,
      inputSize: result.inputSize,
      tfjsVersion: result.tfjsVersion,
      transferkitVersion: VERSION,
      now: options.now(),
    });
    const artifacts = session.artifacts();
    await artifacts.uploadDirectory(result.modelDir, MODEL_ARTIFACT_PATH);
    if (result.sourceModelDir !== undefined) await artifacts.uploadDirectory(result.sourceModelDir, 'source_model');
    await artifacts.uploadDirectory(join(result.outputDir, 'evaluation'), 'evaluation');
    await artifacts.uploadFile(join(result.outputDir, 'metrics.json'), 'metrics.json');
    await publishReport(session, join(result.outputDir, REPORT_ARTIFACT), reportLead(result), [PER_CLASS_TABLE]);
    await finishLoggedModel(session, logged, result.modelDir);
  } catch (error) {
    await markUploadFailed(session, logged, error);
    const file = await writePending(session, result.outputDir);
    throw new TrackingUnavailableError(
      `Uploading the model to the MLflow server at ${session.url} failed: ${error instanceof Error ? error.message : String(error)}. ` +
        `The model is kept in ${result.modelDir} (run ${session.runId}; state in ${file}).`,
      { cause: error },
    );
  }
  const registered = options.registerModel === undefined ? undefined : await registerRunModel(session, logged, options.registerModel);
  await session.end('FINISHED');
  return { modelId: logged.model.info.model_id, ...(registered === undefined ? {} : { registered }) };
}

/** Ends the run FAILED (or KILLED when interrupted) with the message as the run's note. */
export async function failRun(
  session: TrackingSession,
  failure: { message: string; code: string; interrupted: boolean },
  options: CompleteOptions & { outputDir?: string },
): Promise<void> {
  session.queue({
    tags: {
      'mlflow.note.content': `transferkit failed: ${failure.message}`,
      'transferkit.error_code': failure.code,
      'transferkit.error': failure.message.slice(0, 8000),
    },
  });
  const drained = await session.buffer.drain(options.waitMs, options.now);
  if (!drained && options.outputDir !== undefined) await writePending(session, options.outputDir);
  await session.end(failure.interrupted ? 'KILLED' : 'FAILED');
}
