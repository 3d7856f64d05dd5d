/**
 * The adaptation phase, in place of the normal recipe when the run names a target domain:
 * checks → backend → data (./adapt-data.ts) → the classifier of build.ts with its base weights and
 * the usual freezing (retrained_conv_layers/retrained_blocks) → training (./trainer.ts) → the
 * target and source test sets → the same outputs as a normal run (model folder, evaluation reports
 * on the target test set, metrics.json) and the same RunFinished, so tracking and export need no
 * change. `adaptation=none` with a target is the source-only baseline, evaluated on the target.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../fs-atomic.js';
import { VERSION } from '../../version.js';
import { initBackend } from '../backend.js';
import { folderTags } from '../data/folder.js';
import { deriveSeed, mulberry32, permutation, subsetImageSet } from '../data/sample.js';
import type { ImageSet } from '../data/types.js';
import { evaluate } from '../evaluate.js';
import type { RunFinished } from '../events.js';
import { exportModelDir } from '../export/model-dir.js';
import { modelMeta } from '../export/meta.js';
import { writeEvaluationReports } from '../export/reports.js';
import { getBackbone } from '../model/backbones.js';
import { buildClassifier, headOf } from '../model/build.js';
import { applyFreeze, planFreeze, trainableParams } from '../model/freeze.js';
import { loadBaseWeights, resolveWeights } from '../model/weights.js';
import { checkTrainParams } from '../params/check.js';
import type { TrainParams } from '../params/train.js';
import type { RunDeps } from '../run.js';
import { imageSource } from '../train/source.js';
import { prepareAdaptData, type AdaptData } from './adapt-data.js';
import { checkAdaptParams } from './adapt-params.js';
import { adaptMetrics, adaptTags } from './adapt-summary.js';
import type { StepSources } from './batches.js';
import { selectionMetrics, selectionSignal } from './selection-plan.js';
import { trainAdaptation } from './trainer.js';
import { writeAdaptReport } from '../../report/build-adapt.js';

/** Per-epoch reports (target test accuracy, target entropy) use at most this many images each. */
export const REPORT_SAMPLE = 2000;

/** At most `max` images of `set`, a fixed draw (the same in every run and epoch). */
function sample(set: ImageSet, max: number, seed: number): ImageSet {
  if (set.count <= max) return set;
  return subsetImageSet(set, Array.from(permutation(set.count, mulberry32(seed)).subarray(0, max)).sort((a, b) => a - b));
}

function stepSources(params: TrainParams, data: AdaptData, input: Parameters<typeof imageSource>[1]): StepSources {
  const { augment } = params;
  const labelledTarget = data.targetTrain.count > 0 ? { targetLabelled: imageSource(data.targetTrain, input, augment) } : {};
  const source = data.sourceSets === undefined ? {} : { source: imageSource(data.sourceSets.train, input, augment) };
  switch (params.adaptation) {
    case 'none':
      return { ...source, ...labelledTarget };
    case 'dann':
    case 'coral':
      return { ...source, ...labelledTarget, unlabelled: imageSource(data.targetPool, input, augment) };
    case 'pseudo_label':
      // FixMatch's views: weak = flip, strong = flip + crop (data/augment.ts), drawn independently.
      return { ...source, ...labelledTarget, unlabelled: imageSource(data.targetPool, input, ['flip', 'crop']), weak: imageSource(data.targetPool, input, ['flip']) };
  }
}

export async function runAdaptation(params: TrainParams, deps: RunDeps): Promise<RunFinished> {
  const t0 = deps.now();
  const { logger, events } = deps;
  checkAdaptParams(params);
  const backend = await initBackend(params.backend);
  const spec = getBackbone(params.backbone);
  const { inputSize } = checkTrainParams(params, spec);
  const plan = planFreeze(spec, { convLayers: params.retrained_conv_layers, blocks: params.retrained_blocks });
  const weights = await resolveWeights(params.weights, spec, deps);
  const data = await prepareAdaptData(params, { ...deps, imageSize: inputSize });
  const targetLabels = data.targetTrain.count > 0;
  const signal = selectionSignal(targetLabels);
  const input = { inputSize, preprocessing: spec.preprocessing };
  const validation = targetLabels || data.sourceSets === undefined ? data.targetValidation : data.sourceSets.validation;
  const mainLabelled = data.sourceSets?.train.count ?? data.targetTrain.count;

  await events?.started?.({
    resolvedParams: {
      input_size: String(inputSize),
      num_classes: String(data.classIds.length),
      effective_head: headOf(params, spec),
      ...trainableParams(plan, ''),
    },
    tags: {
      'transferkit.version': VERSION,
      'transferkit.backend': backend.name,
      'transferkit.tfjs_version': backend.tfjsVersion,
      'transferkit.tensorflow_version': backend.tensorflowVersion ?? 'n/a',
      'transferkit.data_fingerprint': data.source.fingerprint,
      'transferkit.target_data_fingerprint': data.target.fingerprint,
      'transferkit.weights_source': weights.kind,
      'transferkit.augment': params.augment.join(',') || 'none',
      'transferkit.adaptation': params.adaptation,
      'transferkit.selection_signal': signal,
      'transferkit.activation_cache': 'off (adaptation trains on images: target batches and their views change every step)',
      'transferkit.checkpoints': 'off (adaptation runs are not checkpointed; a crashed run starts over)',
      ...folderTags(data.source),
    },
  });

  const model = buildClassifier(spec, inputSize, { numClasses: data.classIds.length, denseUnits: params.dense_units, dropout: params.dropout, seed: params.seed, head: headOf(params, spec) });
  try {
    const fingerprint = await loadBaseWeights(model, spec, weights);
    applyFreeze(model, spec, plan);
    logger.info({ adaptation: params.adaptation, backbone: spec.name, inputSize, weights: weights.kind, trainable: plan.trainable, selection_signal: signal }, 'adaptation model ready');
    const train = await trainAdaptation(model, {
      method: params.adaptation,
      sources: stepSources(params, data, input),
      epochExamples: Math.max(mainLabelled, data.targetPool.count),
      validation: imageSource(validation, input),
      targetTestSample: imageSource(sample(data.targetTest, REPORT_SAMPLE, deriveSeed(params.seed, 0x7e57)), input),
      entropyImages: imageSource(sample(data.targetPool, REPORT_SAMPLE, deriveSeed(params.seed, 0xe7)), input),
      numClasses: data.classIds.length,
      batchSize: params.batch_size,
      maxEpochs: params.max_epochs,
      learningRate: params.learning_rate,
      weight: params.adaptation_weight,
      threshold: params.pseudo_label_threshold,
      patience: params.use_early_stop ? params.patience : undefined,
      selection: signal,
      seed: params.seed,
      now: deps.now,
      onEpoch: (m) => events?.epoch?.(m, { phase: 'target', maxEpochs: params.max_epochs }),
      ...(deps.signal === undefined ? {} : { signal: deps.signal }),
    });
    const evalBatch = Math.max(params.batch_size, 256);
    const targetTest = await evaluate(model, imageSource(data.targetTest, input), data.classIds.length, evalBatch);
    const sourceTest = data.sourceSets === undefined ? undefined : await evaluate(model, imageSource(data.sourceSets.test, input), data.classIds.length, evalBatch);
    logger.info({ test_accuracy: targetTest.accuracy, source_test_accuracy: sourceTest?.accuracy, selected_epoch: train.selectedEpoch }, 'evaluated on the target test set');

    const modelDir = join(deps.outputDir, 'model');
    await exportModelDir(model, modelDir, modelMeta({ spec, inputSize, dataset: data.target.name, classIds: data.classIds, classNames: data.classNames, baseWeights: fingerprint }), spec.preprocessing);
    await writeEvaluationReports(join(deps.outputDir, 'evaluation'), targetTest, data.classNames);
    const seconds = (deps.now() - t0) / 1000;
    const summary = { params, data, train, signal, targetTest, sourceTest, seconds, selection: selectionMetrics(train.epochs, train.selectedEpoch, signal) };
    const finished: RunFinished = {
      test: targetTest,
      classNames: data.classNames,
      modelDir,
      outputDir: deps.outputDir,
      inputSize,
      tfjsVersion: backend.tfjsVersion,
      bestEpoch: train.selectedEpoch,
      stoppedEarly: train.stoppedEarly,
      trainSeconds: train.trainSeconds,
      totalSeconds: seconds,
      metrics: adaptMetrics(summary),
      tags: { 'transferkit.weights_fingerprint': fingerprint, ...adaptTags(summary) },
    };
    const file = { epochs: train.epochs, adaptation: params.adaptation, selection_signal: signal, source_test: sourceTest ?? null, ...finished };
    await writeFileAtomic(join(deps.outputDir, 'metrics.json'), `${JSON.stringify(file, null, 2)}\n`);
    await writeAdaptReport({ params, data, train, targetTest, sourceTest, signal, finished, runId: deps.runId, now: deps.now });
    await events?.finished?.(finished);
    return finished;
  } finally {
    model.dispose();
  }
}
