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
import type { AdabnPlan } from '../train/domain-bn.js';
import type { PhaseSets } from '../train/inputs.js';
import { writeAdaptReport } from '../../report/build-adapt.js';
import { prepareAdaptData, type AdaptData } from './adapt-data.js';
import { viewsFor } from '../data/views.js';
import { checkAdabnBackbone, checkAdaptParams, methodOf, usesAdabn } from './adapt-params.js';
import { adaptMetrics, adaptTags } from './adapt-summary.js';
import { adaptEpochs } from './epoch-metrics.js';
import { selectionMetrics, selectionSignal } from './selection-plan.js';
import { adaptationStep, REPORT_SAMPLE } from './step-fit.js';

/** At most `max` images of `set`, a fixed draw (the same in every run and epoch). */
function sample(set: ImageSet, max: number, seed: number): ImageSet {
  if (set.count <= max) return set;
  return subsetImageSet(set, Array.from(permutation(set.count, mulberry32(seed)).subarray(0, max)).sort((a, b) => a - b));
}

/**
 * The streams of the method (../adapt/batches.ts), the validation set, and the sets evaluated; each
 * marked with its domain (AdaBN reads target sets with the target's BatchNorm statistics).
 */
export function adaptSets(params: Pick<PlanContext['params'], 'augment' | 'seed' | 'adaptation' | 'pseudo_label_views'>, data: AdaptData): PhaseSets {
  const { augment } = params;
  const method = methodOf(params);
  const targetValidation = targetLabels(data) || data.sourceSets === undefined;
  const sets: Record<string, PhaseSets[string]> = {
    validation: { set: targetValidation ? data.targetValidation : data.sourceSets.validation, domain: targetValidation ? 'target' : 'source' },
    test: { set: data.targetTest, label: 'the target test set', everyEpoch: false, domain: 'target' },
    entropy: { set: sample(data.targetPool, REPORT_SAMPLE, deriveSeed(params.seed, 0xe7)), label: 'the unlabelled target sample', domain: 'target' },
  };
  if (data.sourceSets !== undefined) {
    sets['source'] = { set: data.sourceSets.train, augment, label: 'the source training set', domain: 'source' };
    sets['source_test'] = { set: data.sourceSets.test, label: 'the source test set', everyEpoch: false, domain: 'source' };
  }
  if (data.targetTrain.count > 0) sets['targetLabelled'] = { set: data.targetTrain, augment, label: 'the labelled target set', domain: 'target' };
  if (method === 'dann' || method === 'coral') sets['unlabelled'] = { set: data.targetPool, augment, label: 'the unlabelled target set', domain: 'target' };
  if (method === 'pseudo_label') {
    // FixMatch's views (data/views.ts: the target dataset's policy unless pseudo_label_views says), drawn independently.
    const views = viewsFor(params.pseudo_label_views, data.target.views);
    sets['unlabelled'] = { set: data.targetPool, augment: views.strong, label: 'the strong view of the unlabelled target set', domain: 'target' };
    sets['weak'] = { set: data.targetPool, augment: views.weak, label: 'the weak view of the unlabelled target set', domain: 'target' };
  }
  return sets;
}

const targetLabels = (data: AdaptData) => data.targetTrain.count > 0;

/** AdaBN's images: fixed draws (the same in every run of this seed) of the unlabelled pool and of the source training images. */
function adabnPlan(params: PlanContext['params'], data: AdaptData): AdabnPlan {
  const n = (set: ImageSet) => (params.adabn_samples === 'all' ? set.count : params.adabn_samples);
  const source = data.sourceSets?.train;
  return {
    images: sample(data.targetPool, n(data.targetPool), deriveSeed(params.seed, 0xadab)),
    ...(source === undefined ? {} : { sourceImages: sample(source, n(source), deriveSeed(params.seed, 0xadac)) }),
  };
}

export async function planAdaptation({ params, spec, deps }: PlanContext): Promise<RunPlan> {
  checkAdaptParams(params);
  checkAdabnBackbone(params, spec);
  const [first] = planRecipe(params, spec).stages;
  if (first === undefined) throw new Error('the recipe has no stage');
  const data = await prepareAdaptData(params, deps);
  const signal = selectionSignal(targetLabels(data));
  const epochExamples = Math.max(data.sourceSets?.train.count ?? data.targetTrain.count, data.targetPool.count);
  const step = adaptationStep({ method: methodOf(params), weight: params.adaptation_weight, threshold: params.pseudo_label_threshold, epochExamples });
  const target: PhasePlan = {
    dataset: data.target.name,
    classIds: data.classIds,
    classNames: data.classNames,
    sets: adaptSets(params, data),
    ...(data.sourceSets === undefined ? {} : { alsoEvaluate: ['source_test'] }),
    stages: [{ ...first, step }],
    // AdaBN: a fixed draw of the unlabelled pool (the same in every run of this seed)
    ...(usesAdabn(params) ? { adabn: adabnPlan(params, data) } : {}),
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
