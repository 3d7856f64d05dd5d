/**
 * The plan of an adaptation run (a target domain): one target phase whose single stage is an
 * adaptation step (./step-fit.ts) on the classifier of build.ts with its base weights and the usual
 * freezing (retrained_conv_layers/retrained_blocks), over the sets of ./adapt-data.ts; evaluated on the
 * target test set (the run's test metrics, evaluation reports) and the source test set. It is run,
 * checkpointed, resumed and closed by ../run.ts like any plan. `adaptation=none` with a target is the
 * source-only baseline, evaluated on the target.
 */
import { createHash } from 'node:crypto';
import { folderTags } from '../data/folder.js';
import { deriveSeed, mulberry32, permutation, subsetImageSet } from '../data/sample.js';
import type { ImageSet } from '../data/types.js';
import type { PhasePlan, PlanContext, RunPlan } from '../plan/types.js';
import { planRecipe } from '../recipe.js';
import { finalMetrics, finalTags } from '../run-summary.js';
import type { PhaseSets } from '../train/inputs.js';
import { writeAdaptReport } from '../../report/build-adapt.js';
import { prepareAdaptData, type AdaptData } from './adapt-data.js';
import { checkAdaptParams } from './adapt-params.js';
import { adaptMetrics, adaptTags } from './adapt-summary.js';
import { adaptEpochs } from './epoch-metrics.js';
import { selectionMetrics, selectionSignal } from './selection-plan.js';
import { adaptationStep, REPORT_SAMPLE } from './step-fit.js';

/** At most `max` images of `set`, a fixed draw (the same in every run and epoch). */
function sample(set: ImageSet, max: number, seed: number): ImageSet {
  if (set.count <= max) return set;
  return subsetImageSet(set, Array.from(permutation(set.count, mulberry32(seed)).subarray(0, max)).sort((a, b) => a - b));
}

/** The streams of the method (../adapt/batches.ts), the validation set, and the sets evaluated. */
function adaptSets(params: PlanContext['params'], data: AdaptData): PhaseSets {
  const { augment } = params;
  const validation = targetLabels(data) || data.sourceSets === undefined ? data.targetValidation : data.sourceSets.validation;
  const sets: Record<string, PhaseSets[string]> = {
    validation: { set: validation },
    test: { set: data.targetTest, label: 'the target test set', everyEpoch: false },
    entropy: { set: sample(data.targetPool, REPORT_SAMPLE, deriveSeed(params.seed, 0xe7)), label: 'the unlabelled target sample' },
  };
  if (data.sourceSets !== undefined) {
    sets['source'] = { set: data.sourceSets.train, augment, label: 'the source training set' };
    sets['source_test'] = { set: data.sourceSets.test, label: 'the source test set', everyEpoch: false };
  }
  if (data.targetTrain.count > 0) sets['targetLabelled'] = { set: data.targetTrain, augment, label: 'the labelled target set' };
  if (params.adaptation === 'dann' || params.adaptation === 'coral') sets['unlabelled'] = { set: data.targetPool, augment, label: 'the unlabelled target set' };
  if (params.adaptation === 'pseudo_label') {
    // FixMatch's views: weak = flip, strong = flip + crop (data/augment.ts), drawn independently.
    sets['unlabelled'] = { set: data.targetPool, augment: ['flip', 'crop'], label: 'the strong view of the unlabelled target set' };
    sets['weak'] = { set: data.targetPool, augment: ['flip'], label: 'the weak view of the unlabelled target set' };
  }
  return sets;
}

const targetLabels = (data: AdaptData) => data.targetTrain.count > 0;

export async function planAdaptation({ params, spec, deps }: PlanContext): Promise<RunPlan> {
  checkAdaptParams(params);
  const [first] = planRecipe(params, spec).stages;
  if (first === undefined) throw new Error('the recipe has no stage');
  const data = await prepareAdaptData(params, deps);
  const signal = selectionSignal(targetLabels(data));
  const epochExamples = Math.max(data.sourceSets?.train.count ?? data.targetTrain.count, data.targetPool.count);
  const step = adaptationStep({ method: params.adaptation, weight: params.adaptation_weight, threshold: params.pseudo_label_threshold, epochExamples });
  const target: PhasePlan = {
    dataset: data.target.name,
    classIds: data.classIds,
    classNames: data.classNames,
    sets: adaptSets(params, data),
    ...(data.sourceSets === undefined ? {} : { alsoEvaluate: ['source_test'] }),
    stages: [{ ...first, step }],
  };
  const summary = (r: Parameters<RunPlan['close']>[0], seconds: number) => {
    const epochs = adaptEpochs(r.target.epochs);
    const sourceTest = r.target.otherTests?.['source_test'];
    return { params, data, train: r.target, signal, targetTest: r.target.test, sourceTest, seconds, selection: selectionMetrics(epochs, r.target.bestEpoch, signal) };
  };
  return {
    target,
    dataFingerprint: createHash('sha256').update(`${data.source.fingerprint}\n${data.target.fingerprint}\n`).digest('hex'),
    tags: {
      'transferkit.data_fingerprint': data.source.fingerprint,
      'transferkit.target_data_fingerprint': data.target.fingerprint,
      'transferkit.adaptation': params.adaptation,
      'transferkit.selection_signal': signal,
      'transferkit.stages': '1',
      ...folderTags(data.source),
    },
    close: (results, finished) => {
      const base = { target: results.target, goalAccuracy: params.goal_accuracy, datasetName: data.target.name };
      const s = summary(results, finished.totalSeconds);
      return { metrics: { ...finalMetrics(base), ...adaptMetrics(s) }, tags: { ...finalTags(base), ...adaptTags(s) } };
    },
    writeReport: (results, finished, runId) => {
      const s = summary(results, finished.totalSeconds);
      return writeAdaptReport({ params, data, train: results.target, targetTest: s.targetTest, sourceTest: s.sourceTest, signal, finished, runId, now: deps.now });
    },
  };
}
