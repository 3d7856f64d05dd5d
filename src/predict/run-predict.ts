/**
 * `predict`: a saved model over images. Loads the model (a folder, or a model URI resolved to one),
 * reads the inputs in batches at the model's input size, writes the predictions file, and reports
 * what was skipped. With a labelled input (dataset:NAME) it also gives the accuracy.
 */
import { resolve } from 'node:path';
import { InputError, ModelError } from '../errors.js';
import type { Logger } from '../log.js';
import { parseClassSpec } from '../pipeline/data/classes.js';
import { resolveMaxPixels } from '../pipeline/data/folder.js';
import { withNativeDecoder } from '../pipeline/data/image-decode.js';
import { loadDataset } from '../pipeline/data/registry.js';
import { loadClassifier, topK, type Classifier } from './classifier.js';
import { DATASET_PREFIX, datasetBatches, fileBatches, listImageFiles, type Batch, type Skipped } from './inputs.js';
import type { PredictParams } from './params.js';
import { writePredictions, type Row } from './write.js';
import { yieldToEventLoop } from '../pipeline/event-loop.js';

export interface PredictDeps {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly logger: Logger;
  readonly now: () => number;
  readonly cacheDir: string;
  /** `runs:/…` and `models:/…` to a local folder (through the tracking server). */
  readonly resolveModel?: (uri: string) => Promise<string>;
  /** Ctrl-C, SIGTERM or a gone reader (src/entry/main.ts): stops between batches, nothing written. */
  readonly signal?: AbortSignal;
}

export interface PredictResult {
  readonly file: string;
  readonly modelDir: string;
  readonly count: number;
  readonly skipped: readonly Skipped[];
  /** Top-1 accuracy, when the inputs carry true classes the model knows. */
  readonly accuracy: number | undefined;
  readonly seconds: number;
}

const URI = /^(runs|models):\//;

export async function modelFolder(model: string, deps: Pick<PredictDeps, 'cwd' | 'resolveModel'>): Promise<string> {
  if (!URI.test(model)) return resolve(deps.cwd, model);
  if (deps.resolveModel === undefined) throw new ModelError(`model ${model} is an MLflow model URI, which needs a tracking server (MLFLOW_TRACKING_URI); none is configured`);
  return deps.resolveModel(model);
}

async function* batchesOf(inputs: readonly string[], p: PredictParams, c: Classifier, deps: PredictDeps, onSkip: (s: Skipped) => void): AsyncGenerator<Batch> {
  const datasets = inputs.filter((i) => i.startsWith(DATASET_PREFIX));
  const files = inputs.filter((i) => !i.startsWith(DATASET_PREFIX));
  for (const name of datasets) {
    const dataset = await loadDataset({ name: name.slice(DATASET_PREFIX.length), fetch: deps.fetch, logger: deps.logger, env: deps.env, cacheDir: resolve(deps.cacheDir, 'datasets'), ...(p.data_dir === undefined ? {} : { dataDir: resolve(deps.cwd, p.data_dir) }) });
    const keep = p.classes === undefined ? undefined : parseClassSpec(p.classes, dataset.classNames);
    yield* datasetBatches(dataset, keep, c.inputSize, p.batch_size);
  }
  if (files.length === 0) return;
  const paths = await listImageFiles(files, deps.cwd);
  deps.logger.info({ files: paths.length }, `reading ${paths.length} file(s)`);
  const maxPixels = resolveMaxPixels({ env: deps.env });
  const gen = await withNativeDecoder(async (decoder) => {
    const out: Batch[] = [];
    for await (const b of fileBatches(paths, { size: c.inputSize, batchSize: p.batch_size, maxPixels, decoder, onSkip })) out.push(b);
    return out;
  });
  yield* gen;
}

const PROGRESS_MS = 2000;

export async function runPredict(p: PredictParams, positional: readonly string[], deps: PredictDeps): Promise<PredictResult> {
  const t0 = deps.now();
  const inputs = [...positional, ...(p.input === undefined ? [] : [p.input])];
  if (inputs.length === 0) throw new InputError('predict needs inputs: image files, folders of images, or dataset:NAME (as arguments or --input)');
  const modelDir = await modelFolder(p.model, deps);
  const classifier = await loadClassifier(modelDir);
  const file = resolve(deps.cwd, p.output ?? `predictions.${p.format}`);
  const rows: Row[] = [];
  const skipped: Skipped[] = [];
  let correct = 0;
  let labelled = 0;
  let lastProgress = -Infinity;
  try {
    for await (const batch of batchesOf(inputs, p, classifier, deps, (s) => {
      skipped.push(s);
      deps.logger.warn({ input: s.id, reason: s.reason }, `skipped ${s.id}: ${s.detail}`);
    })) {
      await yieldToEventLoop(); // Ctrl-C's handler runs here (tfjs-node's ops resolve as microtasks)
      deps.signal?.throwIfAborted();
      const probs = await classifier.predict(batch.pixels, batch.items.length);
      const n = classifier.classNames.length;
      batch.items.forEach((item, i) => {
        const top = topK(probs.subarray(i * n, (i + 1) * n), classifier.classNames, p.top_k).map((t) => ({ class: t.class, probability: t.probability }));
        rows.push({ item, top });
        if (item.label !== undefined && classifier.classNames.includes(item.label)) {
          labelled++;
          if (top[0]?.class === item.label) correct++;
        }
      });
      // a line on the first batch, then at most every PROGRESS_MS (a log is no place for thousands of lines)
      if (deps.now() - lastProgress >= PROGRESS_MS) {
        lastProgress = deps.now();
        deps.logger.info({ done: rows.length }, `predicted ${rows.length} image(s)`);
      }
    }
  } finally {
    classifier.dispose();
  }
  await writePredictions(file, p.format, rows, skipped, p.top_k);
  return { file, modelDir, count: rows.length, skipped, accuracy: labelled === 0 ? undefined : correct / labelled, seconds: (deps.now() - t0) / 1000 };
}
