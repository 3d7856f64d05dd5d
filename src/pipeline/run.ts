/**
 * The canonical job, stage by stage: backend → data → model → train → evaluate → export.
 * Each stage lives in its own module; this one only wires them and emits events.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../fs-atomic.js';
import { VERSION } from '../version.js';
import type { Logger } from '../log.js';
import { initBackend } from './backend.js';
import { evaluate } from './evaluate.js';
import type { PipelineEvents, RunFinished } from './events.js';
import { exportModelDir } from './export/model-dir.js';
import { writeEvaluationReports } from './export/reports.js';
import { getBackbone } from './model/backbones.js';
import { buildClassifier } from './model/build.js';
import { applyFreeze, planFreeze } from './model/freeze.js';
import { loadBaseWeights, resolveWeights } from './model/weights.js';
import { checkTrainParams } from './params/check.js';
import type { TrainParams } from './params/train.js';
import { prepareData } from './prepare-data.js';
import { fit } from './train/fit.js';
import { trainingInputs } from './train/inputs.js';

export interface RunDeps {
  readonly logger: Logger;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly cwd: string;
  readonly cacheDir: string;
  readonly outputDir: string;
  readonly events?: PipelineEvents;
  readonly signal?: AbortSignal;
}

function envNumber(env: RunDeps['env'], name: string, fallback: number): number {
  const value = Number(env[name]);
  return env[name] !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

export async function runTraining(params: TrainParams, deps: RunDeps): Promise<RunFinished> {
  const t0 = deps.now();
  const { logger, events } = deps;
  const backend = await initBackend(params.backend);
  const spec = getBackbone(params.backbone);
  const { inputSize } = checkTrainParams(params, spec);
  const freeze = planFreeze(spec, params.retrained_conv_layers);
  const weights = await resolveWeights(params.weights, spec, deps);
  const data = await prepareData(params, deps);

  const model = buildClassifier(spec, inputSize, {
    numClasses: data.classIds.length,
    denseUnits: params.dense_units,
    dropout: params.dropout,
    seed: params.seed,
  });
  const cleanup: (() => void)[] = [];
  try {
    const weightsFingerprint = await loadBaseWeights(model, spec, weights);
    applyFreeze(model, freeze);
    const input = { inputSize, preprocessing: spec.preprocessing };
    const inputs = await trainingInputs(model, freeze, data, input, {
      mode: params.activation_cache,
      dtype: params.cache_dtype,
      cacheRoot: deps.cacheDir,
      memoryBudgetBytes: envNumber(deps.env, 'TRANSFERKIT_CACHE_MEMORY_MB', 2048) * 2 ** 20,
      maxDiskBytes: envNumber(deps.env, 'TRANSFERKIT_CACHE_MAX_GB', 20) * 2 ** 30,
      batchSize: Math.max(params.batch_size, 128),
      logger,
      now: deps.now,
    });
    cleanup.push(() => inputs.dispose());
    inputs.model.compile({ optimizer: tf.train.adam(params.learning_rate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
    await events?.started?.({
      resolvedParams: { input_size: String(inputSize), num_classes: String(data.classIds.length), trainable_conv_layers: freeze.trainableConv.join(',') || 'none' },
      tags: {
        'transferkit.version': VERSION,
        'transferkit.backend': backend.name,
        'transferkit.tfjs_version': backend.tfjsVersion,
        'transferkit.tensorflow_version': backend.tensorflowVersion ?? 'n/a',
        'transferkit.data_fingerprint': data.dataset.fingerprint,
        'transferkit.weights_fingerprint': weightsFingerprint,
        'transferkit.weights_source': weights.kind,
        ...inputs.cacheTags,
      },
    });
    logger.info({ backbone: spec.name, inputSize, trainable: freeze.trainableConv, weights: weights.kind }, 'model ready');

    const tTrain = deps.now();
    const result = await fit(inputs.model, {
      train: inputs.train,
      validation: inputs.validation,
      numClasses: data.classIds.length,
      batchSize: params.batch_size,
      maxEpochs: params.max_epochs,
      patience: params.use_early_stop ? params.patience : undefined,
      seed: params.seed,
      now: deps.now,
      onEpoch: (m) => events?.epoch?.(m, params.max_epochs),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    const trainSeconds = (deps.now() - tTrain) / 1000;
    const test = await evaluate(inputs.model, inputs.test, data.classIds.length, Math.max(params.batch_size, 256));
    logger.info({ test_loss: test.loss, test_accuracy: test.accuracy, best_epoch: result.bestEpoch }, 'evaluated on the test set');

    const modelDir = join(deps.outputDir, 'model');
    await exportModelDir(model, modelDir, {
      format: 'transferkit-model',
      version: 1,
      backbone: params.backbone,
      input_size: inputSize,
      preprocessing: spec.preprocessing,
      dataset: data.dataset.name,
      class_ids: [...data.classIds],
      class_names: [...data.classNames],
      base_weights: weightsFingerprint,
      created_by: `transferkit ${VERSION}`,
    });
    await writeEvaluationReports(join(deps.outputDir, 'evaluation'), test, data.classNames);
    const finished: RunFinished = {
      test,
      classNames: data.classNames,
      modelDir,
      outputDir: deps.outputDir,
      inputSize,
      tfjsVersion: backend.tfjsVersion,
      bestEpoch: result.bestEpoch,
      stoppedEarly: result.stoppedEarly,
      trainSeconds,
      totalSeconds: (deps.now() - t0) / 1000,
      tags: { 'transferkit.activation_cache_seconds_saved': inputs.savedSeconds(result.epochs.length).toFixed(1) },
    };
    await writeFileAtomic(join(deps.outputDir, 'metrics.json'), `${JSON.stringify({ epochs: result.epochs, ...finished }, null, 2)}\n`);
    await events?.finished?.(finished);
    return finished;
  } finally {
    cleanup.forEach((f) => f());
    model.dispose();
  }
}
