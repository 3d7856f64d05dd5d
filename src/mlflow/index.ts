export { MlflowApiError, MlflowUnreachableError, MlflowUsageError, MlflowNotFoundError, LocalServerError, ModelRegistryError } from './errors.js';
export type { MlflowApiErrorDetails } from './errors.js';
export {
  MlflowHttp,
  DEFAULT_RETRY_POLICY,
  DEFAULT_TIMEOUT_MS,
  RETRY_STATUSES,
  authHeader,
  type FetchLike,
  type Env,
  type MlflowHttpOptions,
  type RequestSpec,
  type RequestBody,
  type RetryPolicy,
  type RetryEvent,
} from './http.js';
export {
  MlflowClient,
  LIMITS,
  planBatches,
  checkKey,
  checkTag,
  type MetricPoint,
  type KeyValue,
  type KeyValues,
  type LoggedModelInfo,
  type SearchRunsOptions,
  type BatchRequest,
} from './client.js';
export {
  RunArtifacts,
  artifactPathSegments,
  artifactRootSegments,
  type RunArtifactsOptions,
  type ArtifactEntry,
} from './artifacts.js';
export { findMlflow, isExecutableFile, REPO_ROOT, type FindMlflowOptions } from './find-mlflow.js';
export { encodeMetricValue } from './schemas.js';
export type { Run, RunInfo, RunData, RunStatus, Experiment, Metric, Param, RunTag, SearchRunsPage, ArtifactFile } from './schemas.js';
export { MlflowModels, checkRegisteredModelName, serverVersion, type CreateLoggedModelOptions } from './models.js';
export type { LoggedModel, LoggedModelStatus, ModelVersion, RegisteredModel } from './model-schemas.js';
