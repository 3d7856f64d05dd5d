/**
 * `transferkit serve --model M [--host 127.0.0.1] [--port 5000] [--max_body_mb 20] [--top_k 5]
 * [--max_batch 32]`: flags → params → the scoring server (src/serve/), wire-compatible with
 * `mlflow models serve`, until SIGTERM/SIGINT; then every request in flight is answered and the
 * command returns 0. `--model` is a folder, or runs:/… / models:/… resolved through the tracking
 * server (src/predict/resolve-uri.ts). Bad flags or an unusable model exit 2 with one line, no stack.
 */
import { ParamError } from '../errors.js';
import { transferkitCacheDir } from '../pipeline/cache-dirs.js';
import { parseParams } from '../pipeline/params/parse.js';
import { resolveModelUri } from '../predict/resolve-uri.js';
import { MODEL_EXPECTED, serveParamsSchema } from '../serve/params.js';
import { runServe, type ServeDeps } from '../serve/run-serve.js';
import { parseFlags } from './args.js';
import { endWithFailure } from './end-with-failure.js';
import type { EntryDeps } from './train.js';

export async function serveCommand(argv: readonly string[], deps: EntryDeps): Promise<number> {
  try {
    const params = parseParams(serveParamsSchema, parseFlags(argv));
    const { model } = params;
    if (model === undefined) throw new ParamError('model', `Parameter "model" is required: --model followed by ${MODEL_EXPECTED}`);
    const serveDeps: ServeDeps = {
      cwd: deps.cwd,
      env: deps.env,
      logger: deps.logger,
      now: deps.now,
      stdout: deps.stdout,
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      // runs:/ and models:/ URIs: looked up on MLFLOW_TRACKING_URI, downloaded into the cache
      resolveModel: (uri) => resolveModelUri(uri, { env: deps.env, fetch: deps.fetch, logger: deps.logger, cacheDir: transferkitCacheDir(deps.env) }),
    };
    await runServe({ ...params, model }, serveDeps);
    return 0;
  } catch (error) {
    return endWithFailure(error, deps, undefined, { waitMs: 0, now: deps.now });
  }
}
