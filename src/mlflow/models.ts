/**
 * MLflow 3 logged models and the Model Registry over REST, as the 3.17 server handles them
 * (mlflow/server/handlers.py):
 *   POST  logged-models {experiment_id, name, model_type, source_run_id, params, tags} → PENDING model
 *   PATCH logged-models/{id} {model_id, status: "LOGGED_MODEL_READY" | "LOGGED_MODEL_UPLOAD_FAILED"}
 *   GET   logged-models/{id}
 *   POST  runs/outputs {run_id, models: [{model_id, step}]}
 *   POST  registered-models/create {name}; POST model-versions/create {name, source, run_id, model_id}
 *   GET   model-versions/get, model-versions/get-download-uri, registered-models/alias,
 *         model-versions/search, registered-models/search
 */
import { MlflowApiError, MlflowUsageError } from './errors.js';
import type { MlflowHttp } from './http.js';
import * as m from './model-schemas.js';
import { emptyResponse } from './schemas.js';
import { describeValue } from '../errors.js';

const API = '/api/2.0/mlflow';

export interface CreateLoggedModelOptions {
  readonly experimentId: string;
  readonly name: string;
  readonly sourceRunId?: string;
  readonly modelType?: string;
  readonly params?: Readonly<Record<string, string>>;
  readonly tags?: Readonly<Record<string, string>>;
}

/** Why MLflow would refuse `name` as a registered model name (`_validate_model_name`, and "%" for file stores), or undefined. */
export function checkRegisteredModelName(name: string): string | undefined {
  if (name.trim() === '') return 'is empty';
  if (name.includes('/') || name.includes(':')) return 'contains "/" or ":", which MLflow does not allow in model names';
  if (name.includes('%')) return 'contains "%", which MLflow file stores do not allow in model names';
  if (name === '.' || name.startsWith('..')) return 'is "." or starts with "..", which MLflow refuses as a path that is not unique';
  return undefined;
}

export class MlflowModels {
  constructor(readonly http: MlflowHttp) {}

  async createLoggedModel(options: CreateLoggedModelOptions): Promise<m.LoggedModel> {
    const list = (r: Readonly<Record<string, string>> | undefined) => Object.entries(r ?? {}).map(([key, value]) => ({ key, value }));
    const body = {
      experiment_id: options.experimentId,
      name: options.name,
      source_run_id: options.sourceRunId,
      model_type: options.modelType,
      params: list(options.params),
      tags: list(options.tags),
    };
    return (await this.post('logged-models', body, m.loggedModelResponse)).model;
  }

  async getLoggedModel(modelId: string): Promise<m.LoggedModel> {
    return (await this.http.json({ method: 'GET', path: `${API}/logged-models/${encodeURIComponent(modelId)}` }, m.loggedModelResponse)).model;
  }

  /** PENDING → READY (files uploaded) or UPLOAD_FAILED. */
  async finalizeLoggedModel(modelId: string, status: 'LOGGED_MODEL_READY' | 'LOGGED_MODEL_UPLOAD_FAILED'): Promise<m.LoggedModel> {
    const path = `${API}/logged-models/${encodeURIComponent(modelId)}`;
    return (await this.http.json({ method: 'PATCH', path, json: { model_id: modelId, status } }, m.loggedModelResponse)).model;
  }

  /** Links logged models to the run that produced them (the run page's "Logged models"). */
  async logOutputs(runId: string, models: ReadonlyArray<{ modelId: string; step: number }>): Promise<void> {
    await this.post('runs/outputs', { run_id: runId, models: models.map((x) => ({ model_id: x.modelId, step: x.step })) }, emptyResponse);
  }

  /** Creates the registered model; one that already exists is fine (returns false). */
  async ensureRegisteredModel(name: string): Promise<boolean> {
    const problem = checkRegisteredModelName(name);
    if (problem !== undefined) throw new MlflowUsageError(`registered model name ${describeValue(name)} ${problem}`);
    try {
      await this.post('registered-models/create', { name }, m.registeredModelResponse);
      return true;
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') return false;
      throw error;
    }
  }

  async createModelVersion(options: { name: string; source: string; runId?: string; modelId?: string }): Promise<m.ModelVersion> {
    const body = { name: options.name, source: options.source, run_id: options.runId, model_id: options.modelId };
    return (await this.post('model-versions/create', body, m.modelVersionResponse)).model_version;
  }

  /** The version, or undefined when the server has no such model or version. */
  async getModelVersion(name: string, version: string): Promise<m.ModelVersion | undefined> {
    return orUndefined(async () => (await this.get('model-versions/get', { name, version }, m.modelVersionResponse)).model_version);
  }

  /** The version an alias points at, or undefined (the server answers 400 or 404 for an unknown alias). */
  async getModelVersionByAlias(name: string, alias: string): Promise<m.ModelVersion | undefined> {
    return orUndefined(async () => (await this.get('registered-models/alias', { name, alias }, m.modelVersionResponse)).model_version, true);
  }

  /** Where the version's files are: its storage location, else its source (a URI). */
  async getModelVersionDownloadUri(name: string, version: string): Promise<string> {
    return (await this.get('model-versions/get-download-uri', { name, version }, m.downloadUriResponse)).artifact_uri;
  }

  async getRegisteredModel(name: string): Promise<m.RegisteredModel | undefined> {
    return orUndefined(async () => (await this.get('registered-models/get', { name }, m.registeredModelResponse)).registered_model);
  }

  /** Up to `max` version numbers of a registered model, ascending. */
  async listVersions(name: string, max = 100): Promise<string[]> {
    const filter = `name='${name.replaceAll("'", "\\'")}'`;
    const res = await this.get('model-versions/search', { filter, max_results: max }, m.searchModelVersionsResponse);
    return res.model_versions.map((v) => v.version).sort((a, b) => Number(a) - Number(b));
  }

  /** Up to `max` registered model names. */
  async listRegisteredModels(max = 50): Promise<string[]> {
    return (await this.get('registered-models/search', { max_results: max }, m.searchRegisteredModelsResponse)).registered_models.map((r) => r.name);
  }

  private get<S extends Parameters<MlflowHttp['json']>[1]>(endpoint: string, query: Readonly<Record<string, string | number>>, schema: S) {
    return this.http.json({ method: 'GET', path: `${API}/${endpoint}`, query }, schema);
  }

  private post<S extends Parameters<MlflowHttp['json']>[1]>(endpoint: string, body: object, schema: S) {
    return this.http.json({ method: 'POST', path: `${API}/${endpoint}`, json: body }, schema);
  }
}

/** The server's MLflow version (`GET /version`, e.g. "3.17.2"), or undefined when it does not tell. */
export async function serverVersion(http: MlflowHttp): Promise<string | undefined> {
  try {
    const text = await http.call({ method: 'GET', path: '/version' }, async (res) => (await res.text()).trim());
    return /^\d+\.\d+\.\d+[A-Za-z0-9.+-]*$/.test(text) ? text : undefined;
  } catch (error) {
    if (error instanceof MlflowApiError && error.status !== undefined && error.status < 500) return undefined;
    throw error;
  }
}

async function orUndefined<T>(call: () => Promise<T>, badRequestToo = false): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    const missing = error instanceof MlflowApiError && (error.errorCode === 'RESOURCE_DOES_NOT_EXIST' || (badRequestToo && error.errorCode === 'INVALID_PARAMETER_VALUE'));
    if (missing) return undefined;
    throw error;
  }
}
