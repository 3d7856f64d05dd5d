/**
 * `transferkit predict --model M INPUT...`: a saved model over image files, folders or dataset:NAME;
 * writes the predictions file and prints a summary. Tracked like the other commands when MLflow is
 * on (the MLproject `predict` entry): parameters as given, counts (and accuracy on labelled input)
 * as metrics, the predictions file as an artifact. Bad input exits 2 and ends the run FAILED.
 */
import { parseParams } from '../pipeline/params/parse.js';
import { predictParamsSchema } from '../predict/params.js';
import { resolveModelUri } from '../predict/resolve-uri.js';
import { runPredict, type PredictResult } from '../predict/run-predict.js';
import { paramsAsGiven } from '../tracking/run-params.js';
import { TrackingUnavailableError } from '../tracking/run-tracking.js';
import { TrackingSession } from '../tracking/session.js';
import { VERSION } from '../version.js';
import { parseFlags } from './args.js';
import { endWithFailure } from './end-with-failure.js';
import { pipelineDeps, sleep, trackingEnabled, waitMs, type EntryDeps } from './train.js';

/** `--name value` pairs and positional inputs, in any order. */
export function splitArgs(argv: readonly string[]): { flags: string[]; positional: string[] } {
  const flags: string[] = [];
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg.startsWith('--') && arg.length > 2) {
      flags.push(arg);
      if (!arg.includes('=') && i + 1 < argv.length) flags.push(argv[++i] ?? '');
    } else positional.push(arg);
  }
  return { flags, positional };
}

export function summaryText(r: PredictResult): string {
  const skipped = r.skipped.length === 0 ? '' : `; skipped ${r.skipped.length} (${[...new Set(r.skipped.map((s) => s.reason))].join(', ')}): ${r.skipped.slice(0, 5).map((s) => s.id).join(', ')}${r.skipped.length > 5 ? ', …' : ''}`;
  const accuracy = r.accuracy === undefined ? '' : `; top-1 accuracy ${(100 * r.accuracy).toFixed(2)}%`;
  return `predicted ${r.count} image(s) with ${r.modelDir} in ${r.seconds.toFixed(1)} s${accuracy}${skipped}\npredictions in ${r.file}\n`;
}

export async function predictCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  let session: TrackingSession | undefined;
  const timing = { waitMs: waitMs(deps.env), now: deps.now };
  try {
    const { flags, positional } = splitArgs(argv);
    const raw = parseFlags(flags);
    if (trackingEnabled(deps.env) && deps.env['MLFLOW_RUN_ID'] !== undefined) {
      session = await TrackingSession.open({ ...deps, sleep }, { params: paramsAsGiven(raw, {}), runName: 'predict' });
    }
    const params = parseParams(predictParamsSchema, raw);
    const common = pipelineDeps(deps, params.cache_dir, deps.cwd);
    // runs:/ and models:/ URIs: looked up on MLFLOW_TRACKING_URI, downloaded into the cache
    const resolveModel = (uri: string) => resolveModelUri(uri, { env: deps.env, fetch: deps.fetch, logger: deps.logger, cacheDir: common.cacheDir });
    const result = await runPredict(params, positional, { ...common, resolveModel });
    if (session !== undefined) {
      session.queue({ tags: { 'transferkit.version': VERSION, 'transferkit.model_dir': result.modelDir } });
      session.logMetrics({ predicted: result.count, skipped: result.skipped.length, ...(result.accuracy === undefined ? {} : { accuracy: result.accuracy }) }, 0);
      if (!(await session.buffer.drain(timing.waitMs, timing.now))) throw new TrackingUnavailableError(`The MLflow server at ${session.url} did not take the run's data; the predictions are in ${result.file}`);
      await session.artifacts().uploadFile(result.file, `predictions/${result.file.split('/').at(-1) ?? 'predictions'}`);
      await session.end('FINISHED');
    }
    deps.stdout.write(summaryText(result));
    return 0;
  } catch (error) {
    return await endWithFailure(error, deps, session, timing);
  } finally {
    await session?.close();
  }
}
