/**
 * `register_model=<name>`: the run's logged model becomes a new version of a registered model,
 * as `mlflow.register_model` does: `registered-models/create` (an existing name is fine), then
 * `model-versions/create` with the logged model's artifact location as the source, and the run and
 * model ids (the server checks that the source lies inside the model's artifacts).
 */
import { describeValue } from '../errors.js';
import { MlflowApiError, ModelRegistryError } from '../mlflow/errors.js';
import type { ModelVersion } from '../mlflow/model-schemas.js';
import { MlflowModels, checkRegisteredModelName } from '../mlflow/models.js';
import type { LoggedRunModel } from './logged-model.js';
import type { TrackingSession } from './session.js';

export const REGISTERED_VERSION_TAG = 'transferkit.registered_model_version';
export const REGISTERED_NAME_TAG = 'transferkit.registered_model_name';

export interface Registration {
  readonly name: string;
  readonly version: string;
  /** `models:/<name>/<version>`. */
  readonly uri: string;
}

export async function registerRunModel(session: TrackingSession, logged: LoggedRunModel, name: string): Promise<Registration> {
  const problem = checkRegisteredModelName(name);
  if (problem !== undefined) {
    throw new ModelRegistryError(`Parameter "register_model" is ${describeValue(name)}, which ${problem}; expected a model name such as "flowers-classifier"`);
  }
  const models = new MlflowModels(session.client.http);
  let version: ModelVersion;
  try {
    await models.ensureRegisteredModel(name);
    version = await models.createModelVersion({
      name,
      source: logged.model.info.artifact_uri,
      runId: session.runId,
      modelId: logged.model.info.model_id,
    });
  } catch (error) {
    const serverFault = error instanceof MlflowApiError && (error.status === undefined || error.status >= 500);
    throw new ModelRegistryError(
      `Registering the run's model as ${describeValue(name)} in the Model Registry of ${session.url} failed: ` +
        `${error instanceof Error ? error.message : String(error)}. The model itself is logged (run ${session.runId}, model ${logged.model.info.model_id}).`,
      { cause: error, userError: !serverFault },
    );
  }
  if (version.status === 'FAILED_REGISTRATION') {
    throw new ModelRegistryError(
      `The Model Registry of ${session.url} created version ${version.version} of ${describeValue(name)} but reports FAILED_REGISTRATION: ${version.status_message ?? 'no reason given'}`,
    );
  }
  const registration = { name, version: version.version, uri: `models:/${name}/${version.version}` };
  await session.client.logBatch({ runId: session.runId, tags: { [REGISTERED_NAME_TAG]: name, [REGISTERED_VERSION_TAG]: version.version } });
  session.logger.info({ registered_model: name, version: version.version, uri: registration.uri }, 'registered the model');
  return registration;
}
