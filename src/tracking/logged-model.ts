/**
 * The run's model as an MLflow 3 logged model, the way `mlflow.<flavor>.log_model` records one:
 * create it (PENDING) → write the MLflow Model files naming its id → upload the folder to the
 * run's `model/` and to the logged model's own artifact location → mark it READY (only now, with
 * every file in place) → link it to the run as an output → append to `mlflow.log-model.history`,
 * which the 3.17 runs table still reads. A failure after the creation marks it UPLOAD_FAILED.
 */
import type { LoggedModelInfo } from '../mlflow/client.js';
import { MlflowApiError } from '../mlflow/errors.js';
import type { LoggedModel } from '../mlflow/model-schemas.js';
import { MlflowModels, serverVersion } from '../mlflow/models.js';
import { mlmodelInfo, writeMlflowModel } from './mlmodel.js';
import { MODEL_RUNTIME } from './model-env.js';
import type { TrackingSession } from './session.js';

export const MODEL_ARTIFACT_PATH = 'model';

export interface RunModel {
  readonly modelDir: string;
  readonly classNames: readonly string[];
  readonly inputSize: number;
  readonly tfjsVersion: string;
  readonly transferkitVersion: string;
  readonly now: number;
}

export interface LoggedRunModel {
  readonly model: LoggedModel;
  readonly info: LoggedModelInfo;
}

/** Creates the PENDING logged model and writes the MLflow Model files (MLmodel naming its id) into the folder. */
export async function prepareLoggedModel(session: TrackingSession, run: RunModel): Promise<LoggedRunModel> {
  const models = new MlflowModels(session.client.http);
  const mlflowVersion = (await serverVersion(session.client.http)) ?? MODEL_RUNTIME.mlflow;
  const model = await models.createLoggedModel({
    experimentId: session.experimentId,
    name: MODEL_ARTIFACT_PATH,
    sourceRunId: session.runId,
    modelType: 'Classifier',
    tags: { 'transferkit.version': run.transferkitVersion, 'transferkit.classes': run.classNames.join(',').slice(0, 5000) },
  });
  const info = mlmodelInfo({
    artifactPath: MODEL_ARTIFACT_PATH,
    now: run.now,
    transferkitVersion: run.transferkitVersion,
    tfjsVersion: run.tfjsVersion,
    classNames: run.classNames,
    inputSize: run.inputSize,
    modelId: model.info.model_id,
  });
  await writeMlflowModel(run.modelDir, { info, runId: session.runId, inputSize: run.inputSize, classes: run.classNames.length, mlflowVersion });
  return { model, info };
}

/**
 * Uploads the folder to the logged model's artifact location, marks it READY, links it to the run
 * and records it in the run's log-model history. (The run's own `model/` copy is uploaded by the
 * caller with the run's other artifacts, before this.)
 */
export async function finishLoggedModel(session: TrackingSession, logged: LoggedRunModel, modelDir: string): Promise<void> {
  const models = new MlflowModels(session.client.http);
  const id = logged.model.info.model_id;
  await session.artifactsAt(logged.model.info.artifact_uri).uploadDirectory(modelDir);
  await models.finalizeLoggedModel(id, 'LOGGED_MODEL_READY');
  await models.logOutputs(session.runId, [{ modelId: id, step: 0 }]);
  await session.client.logModel(session.runId, logged.info);
}

/**
 * Best effort: a logged model whose files did not all arrive is marked UPLOAD_FAILED, not left
 * PENDING. Not tried when the server itself was the failure (unreachable or 5xx): that would only
 * wait through the retries again.
 */
export async function markUploadFailed(session: TrackingSession, logged: LoggedRunModel | undefined, cause: unknown): Promise<void> {
  if (logged === undefined) return;
  if (cause instanceof MlflowApiError && (cause.status === undefined || cause.status >= 500)) return;
  await new MlflowModels(session.client.http).finalizeLoggedModel(logged.model.info.model_id, 'LOGGED_MODEL_UPLOAD_FAILED').catch((error: unknown) => {
    session.logger.warn({ model_id: logged.model.info.model_id, reason: error instanceof Error ? error.message : String(error) }, 'could not mark the logged model UPLOAD_FAILED');
  });
}
