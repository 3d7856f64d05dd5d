/**
 * The plan of a transfer run (no target domain): the target model's stages on the prepared data,
 * after an optional source model on other classes of the same dataset, with an optional from-scratch
 * baseline (../recipe.ts says which).
 */
import { folderTags } from '../data/folder.js';
import type { TrainParams } from '../params/train.js';
import { prepareData, type PreparedData } from '../prepare-data.js';
import { checkSourceClasses, planRecipe } from '../recipe.js';
import { finalMetrics, finalTags } from '../run-summary.js';
import { supervisedSets } from '../train/inputs.js';
import type { StageSpec } from '../train/stages.js';
import { writeTransferReport } from '../../report/build-run.js';
import type { PhasePlan, PlanContext, RunPlan } from './types.js';

function phase(d: PreparedData, augment: TrainParams['augment'], stages: readonly StageSpec[]): PhasePlan {
  return { dataset: d.dataset.name, classIds: d.classIds, classNames: d.classNames, sets: supervisedSets(d, augment), stages };
}

export async function planTransfer({ params, spec, deps }: PlanContext): Promise<RunPlan> {
  const recipe = planRecipe(params, spec);
  const data = await prepareData(params, deps);
  checkSourceClasses(params, data.dataset.classNames);
  const sourceData = recipe.source === undefined
    ? undefined
    : await prepareData({ ...params, classes: recipe.source.classes, samples_per_class: params.source_samples_per_class }, deps, data.dataset);
  const summary = (r: Parameters<RunPlan['close']>[0]) => ({ ...r, goalAccuracy: params.goal_accuracy, datasetName: data.dataset.name });
  return {
    target: phase(data, params.augment, recipe.stages),
    ...(recipe.source === undefined || sourceData === undefined ? {} : { source: phase(sourceData, params.augment, recipe.source.stages) }),
    ...(recipe.scratch === undefined ? {} : { scratch: phase(data, params.augment, recipe.scratch.stages) }),
    dataFingerprint: data.dataset.fingerprint,
    tags: { 'transferkit.data_fingerprint': data.dataset.fingerprint, 'transferkit.stages': String(recipe.stages.length), ...folderTags(data.dataset) },
    close: (results) => ({ metrics: finalMetrics(summary(results)), tags: finalTags(summary(results)) }),
    writeReport: (results, finished, runId) => writeTransferReport({ ...results, params, data, sourceData, finished, runId, now: deps.now }),
  };
}
