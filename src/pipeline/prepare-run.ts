/**
 * What a training run does before it writes anything or needs to know which MLflow run it is: the
 * backend, the parameters checked against the backbone, the recipe, the base weights (downloaded
 * when named) and their fingerprint, and the data sets. The entry runs this while the tracking side
 * starts up (a private `mlflow server` takes seconds), then hands the result to `runTraining`.
 */
import type { BackendInfo } from './backend.js';
import { initBackend } from './backend.js';
import type { PipelineDeps } from './deps.js';
import { getBackbone, type BackboneSpec } from './model/backbones.js';
import { resolveWeights, weightsFingerprint, type WeightsSource } from './model/weights.js';
import { checkTrainParams } from './params/check.js';
import type { TrainParams } from './params/train.js';
import { prepareData, type PreparedData } from './prepare-data.js';
import { checkSourceClasses, planRecipe, type Recipe } from './recipe.js';
import { usesAdaptation } from './adapt/index.js';

export interface PreparedRun {
  /** deps.now() when preparing began: the run's total time counts from here. */
  readonly startedAt: number;
  readonly backend: BackendInfo;
  readonly spec: BackboneSpec;
  readonly inputSize: number;
  readonly recipe: Recipe;
  readonly weights: WeightsSource;
  readonly weightsFingerprint: string;
  readonly data: PreparedData;
  /** The source classes' sets of a source→target recipe. */
  readonly sourceData?: PreparedData;
}

export type PrepareDeps = Omit<PipelineDeps, 'outputDir'>;

/** `undefined` for an adaptation run, which prepares its own data (adapt/run-adapt.ts). */
export async function prepareRun(params: TrainParams, deps: PrepareDeps): Promise<PreparedRun | undefined> {
  if (usesAdaptation(params)) return undefined;
  const startedAt = deps.now();
  const backend = await initBackend(params.backend);
  const spec = getBackbone(params.backbone);
  const { inputSize } = checkTrainParams(params, spec);
  const recipe = planRecipe(params, spec);
  const weights = await resolveWeights(params.weights, spec, deps);
  const data = await prepareData(params, { ...deps, imageSize: inputSize });
  checkSourceClasses(params, data.dataset.classNames);
  const sourceData = recipe.source === undefined
    ? undefined
    : await prepareData({ ...params, classes: recipe.source.classes, samples_per_class: params.source_samples_per_class }, deps, data.dataset);
  return {
    startedAt, backend, spec, inputSize, recipe, weights, weightsFingerprint: await weightsFingerprint(weights), data,
    ...(sourceData === undefined ? {} : { sourceData }),
  };
}
