/**
 * `serve`: the model folder (or a model URI resolved to one) loaded on the native backend, the
 * scoring server listening until the signal aborts, then a graceful shutdown: every request in
 * flight or queued is answered before this returns.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import type { Logger } from '../log.js';
import { initBackend } from '../pipeline/backend.js';
import { resolveMaxPixels } from '../pipeline/data/folder.js';
import { withNativeDecoder } from '../pipeline/data/image-decode.js';
import { loadClassifier } from '../predict/classifier.js';
import { VERSION } from '../version.js';
import type { ServeParams } from './params.js';
import { createScoringServer } from './server.js';

export interface ServeDeps {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  readonly now: () => number;
  readonly stdout: { write(text: string): unknown };
  /** Aborted on SIGTERM/SIGINT: the server stops accepting and drains. */
  readonly signal?: AbortSignal;
  /** `runs:/…` and `models:/…` to a local model folder (src/predict/resolve-uri.ts); without it they are refused. */
  readonly resolveModel?: (uri: string) => Promise<string>;
}

const MLFLOW_URI = /^(runs|models):\//;
const OTHER_URI = /^([a-z][a-z0-9+.-]*):\/\//i;

/** Where `--model` points, as a local folder. */
export async function modelFolder(model: string, deps: Pick<ServeDeps, 'cwd' | 'resolveModel'>): Promise<string> {
  if (model.startsWith('file://')) return fileURLToPath(model);
  if (MLFLOW_URI.test(model)) {
    if (deps.resolveModel !== undefined) return deps.resolveModel(model);
    throw new ModelError(
      `--model ${model} is an MLflow model URI, which this serve cannot resolve; expected a local model folder: download it first (mlflow artifacts download -u ${model} -d DIR) and pass --model DIR`,
    );
  }
  const scheme = OTHER_URI.exec(model)?.[1];
  if (scheme !== undefined) throw new ModelError(`--model ${model}: ${scheme}:// model URIs are not supported; expected a local model folder (or runs:/<run id>/model, models:/<name>/<version>)`);
  return resolve(deps.cwd, model);
}

/** Resolves when `signal` aborts (never without one). */
const aborted = (signal: AbortSignal | undefined): Promise<void> =>
  new Promise((done) => {
    if (signal?.aborted === true) done();
    else signal?.addEventListener('abort', () => done(), { once: true });
  });

export async function runServe(p: ServeParams & { readonly model: string }, deps: ServeDeps): Promise<void> {
  const dir = await modelFolder(p.model, deps);
  const maxPixels = resolveMaxPixels({ env: deps.env });
  await initBackend('tensorflow');
  const classifier = await loadClassifier(dir);
  try {
    await withNativeDecoder(async (decoder) => {
      const scoring = createScoringServer({
        model: classifier,
        decoder,
        maxBodyBytes: Math.floor(p.max_body_mb * 2 ** 20),
        maxPixels,
        topK: p.top_k,
        maxBatch: p.max_batch,
        version: VERSION,
        logger: deps.logger,
        now: deps.now,
      });
      const url = await scoring.listen(p.port, p.host);
      const [h, w] = classifier.contract.shape;
      deps.logger.info({ url, model: dir, input: [h, w, 3], classes: classifier.classNames.length, max_body_mb: p.max_body_mb, max_batch: p.max_batch }, `serving ${dir} at ${url}`);
      deps.stdout.write(`serving ${dir} at ${url}\n`);
      await aborted(deps.signal);
      await scoring.shutdown();
      deps.logger.info({ url }, 'stopped: every request was answered');
    });
  } finally {
    classifier.dispose();
  }
}
