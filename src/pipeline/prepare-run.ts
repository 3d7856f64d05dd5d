/**
 * What a training run does before it writes anything or needs to know which MLflow run it is: the
 * backend, the parameters checked against the backbone, the run's plan (./plan/: its phases, stages
 * and data sets, for a transfer or an adaptation run alike), the base weights (downloaded when named)
 * and their fingerprint. The entry runs this while the tracking side starts up (a private `mlflow
 * server` takes seconds), then hands the result to `runTraining`.
 */
import type { BackendInfo } from './backend.js';
import { initBackend } from './backend.js';
import type { PipelineDeps } from './deps.js';
import { getBackbone, type BackboneSpec } from './model/backbones.js';
import { resolveWeights, weightsFingerprint, type WeightsSource } from './model/weights.js';
import { checkTrainParams } from './params/check.js';
import type { TrainParams } from './params/train.js';
import { planRun, type RunPlan } from './plan/index.js';

export interface PreparedRun {
  /** deps.now() when preparing began: the run's total time counts from here. */
  readonly startedAt: number;
  readonly backend: BackendInfo;
  readonly spec: BackboneSpec;
  readonly inputSize: number;
  readonly plan: RunPlan;
  readonly weights: WeightsSource;
  readonly weightsFingerprint: string;
}

export type PrepareDeps = Omit<PipelineDeps, 'outputDir'>;

export async function prepareRun(params: TrainParams, deps: PrepareDeps): Promise<PreparedRun> {
  const startedAt = deps.now();
  const backend = await initBackend(params.backend);
  deps.signal?.throwIfAborted();
  const spec = getBackbone(params.backbone);
  const { inputSize } = checkTrainParams(params, spec);
  const plan = await planRun({ params, spec, deps: { ...deps, imageSize: inputSize } });
  deps.signal?.throwIfAborted();
  const weights = await resolveWeights(params.weights, spec, deps);
  deps.signal?.throwIfAborted();
  return { startedAt, backend, spec, inputSize, plan, weights, weightsFingerprint: await weightsFingerprint(weights) };
}
