/**
 * `transferkit recommend`: flags → params → the strategy advice, printed and tracked like a `train`
 * run (the same TrackingSession: attach to MLFLOW_RUN_ID or create a run; params as given, the
 * measurements as metrics, the advice as tags, recommendation.json as the artifact). Bad input exits
 * 2 and ends the run FAILED, through the same failure path as train.
 */
import { parseParams } from '../pipeline/params/parse.js';
import { recommendParamsSchema } from '../pipeline/recommend/params.js';
import { reportText } from '../pipeline/recommend/report-text.js';
import { REPORT_FILE, runRecommend, type RecommendResult } from '../pipeline/recommend/run.js';
import { paramsAsGiven } from '../tracking/run-params.js';
import { TrackingUnavailableError, type CompleteOptions } from '../tracking/run-tracking.js';
import { TrackingSession } from '../tracking/session.js';
import { VERSION } from '../version.js';
import { parseFlags } from './args.js';
import { endWithFailure } from './end-with-failure.js';
import { outputDirFor, pipelineDeps, sleep, trackingEnabled, waitMs, type EntryDeps } from './train.js';

/** Everything recommend measured and advised, onto the run; FINISHED once the report has landed. */
async function logRecommendation(session: TrackingSession, result: RecommendResult, timing: CompleteOptions): Promise<void> {
  const { report, backend } = result;
  const m = report.measurements;
  const advice = report.recommendation;
  const source = report.source;
  session.queue({
    params: {
      effective_input_size: String(report.model.input_size),
      ...(source === null ? {} : { effective_source_dataset: source.dataset, effective_source_classes: source.class_ids.join(',') }),
    },
    tags: {
      'transferkit.recommendation': advice.setting,
      'transferkit.recommendation.reason': advice.reason,
      'transferkit.recommendation.size': advice.size,
      'transferkit.recommendation.similarity': advice.similarity,
      'transferkit.recommendation.command': advice.command,
      'transferkit.recommendation.decided_by': advice.decided_by,
      'transferkit.recommendation.candidates': advice.candidates.join('; '),
      'transferkit.pilot': report.pilot.status,
      ...(m.feature_layer === null ? {} : { 'transferkit.feature_layer': m.feature_layer }),
      'transferkit.weights_source': report.model.weights_source,
      'transferkit.weights_fingerprint': report.model.weights_fingerprint,
      'transferkit.version': VERSION,
      'transferkit.backend': backend.name,
      'transferkit.tensorflow_version': backend.tensorflowVersion ?? 'n/a',
      'mlflow.note.content': reportText(report),
    },
  });
  const measured = {
    labels_per_class: m.labels_per_class,
    proxy_a_distance: m.proxy_a_distance,
    domain_classifier_error: m.domain_classifier_error,
    mmd: m.mmd,
    mmd2: m.mmd2,
    mmd_bandwidth: m.mmd_bandwidth,
    source_sample_size: m.source_sample_size,
    target_sample_size: m.target_sample_size,
    feature_dim: m.feature_dim,
    total_seconds: report.seconds,
    ...Object.fromEntries(report.pilot.scores.map((p) => [`pilot_accuracy.${p.setting.replaceAll('=', '_').replaceAll(' ', '.')}`, p.heldOutAccuracy])),
  };
  // what was not measured (no source) is left out, not logged as a number
  session.logMetrics(Object.fromEntries(Object.entries(measured).filter((e): e is [string, number] => e[1] !== null)), 0);
  if (!(await session.buffer.drain(timing.waitMs, timing.now))) {
    const reason = session.buffer.lastError instanceof Error ? `: ${session.buffer.lastError.message}` : '';
    throw new TrackingUnavailableError(`The MLflow server at ${session.url} did not take the run's data within ${Math.round(timing.waitMs / 1000)} s${reason}. The advice is in ${result.file}.`);
  }
  try {
    await session.artifacts().uploadFile(result.file, REPORT_FILE);
  } catch (error) {
    throw new TrackingUnavailableError(
      `Uploading ${REPORT_FILE} to the MLflow server at ${session.url} failed: ${error instanceof Error ? error.message : String(error)}. The advice is kept in ${result.file}.`,
      { cause: error },
    );
  }
  await session.end('FINISHED');
}

export async function recommendCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  let session: TrackingSession | undefined;
  let outputDir: string | undefined;
  const timing = { waitMs: waitMs(deps.env), now: deps.now };
  try {
    const raw = parseFlags(argv);
    if (trackingEnabled(deps.env)) {
      const defaults = parseParams(recommendParamsSchema, {});
      session = await TrackingSession.open({ ...deps, sleep }, { params: paramsAsGiven(raw, defaults), runName: 'recommend' });
    }
    const params = parseParams(recommendParamsSchema, raw);
    outputDir = outputDirFor(params, deps, session?.runId);
    const result = await runRecommend(params, pipelineDeps(deps, params.cache_dir, outputDir));
    if (session !== undefined) await logRecommendation(session, result, timing);
    deps.stdout.write(`${reportText(result.report)}\nreport in ${result.file}${session === undefined ? '' : `; MLflow run ${session.runId} at ${session.url}`}\n`);
    return 0;
  } catch (error) {
    return await endWithFailure(error, deps, session, { ...timing, ...(outputDir === undefined ? {} : { outputDir }) });
  } finally {
    await session?.close();
  }
}
