/**
 * Typed MLflow tracking client over REST (`/api/2.0/mlflow/...`). Requests go through MlflowHttp
 * (retries, auth, timeouts); responses are checked with the zod schemas in schemas.ts.
 */
import { describeValue } from '../errors.js';
import { createRunOnce, findRunByToken } from './create-run.js';
import { MlflowApiError, MlflowUsageError } from './errors.js';
import { MlflowHttp, type MlflowHttpOptions, type RequestSpec } from './http.js';
import * as s from './schemas.js';

const API = '/api/2.0/mlflow';

/** log-batch limits enforced by the server (mlflow/utils/validation.py). */
export const LIMITS = {
  metricsPerRequest: 1000,
  paramsPerRequest: 100,
  tagsPerRequest: 100,
  itemsPerRequest: 1000,
  /** The server rejects log-batch bodies over 1e6 bytes; leave room for the envelope. */
  bytesPerRequest: 990_000,
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
} as const;

export interface MetricPoint {
  readonly key: string;
  readonly value: number;
  /** Milliseconds since the epoch, computed once by the caller so a retry resends the same point. */
  readonly timestamp: number;
  readonly step?: number;
}
export interface KeyValue {
  readonly key: string;
  readonly value: string;
}
export type KeyValues = readonly KeyValue[] | Readonly<Record<string, string>>;

export interface LoggedModelInfo {
  readonly artifactPath: string;
  /** Flavor name → its MLmodel config. */
  readonly flavors: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  /** e.g. "2024-01-31 12:00:00.000000", as MLmodel files write it. */
  readonly utcTimeCreated: string;
  readonly modelUuid?: string;
}

export interface SearchRunsOptions {
  readonly experimentIds: readonly string[];
  readonly filter?: string;
  readonly maxResults?: number;
  readonly orderBy?: readonly string[];
  readonly pageToken?: string;
  readonly runViewType?: 'ACTIVE_ONLY' | 'DELETED_ONLY' | 'ALL';
}

type WireMetric = { key: string; value: ReturnType<typeof s.encodeMetricValue>; timestamp: number; step: number };
export interface BatchRequest {
  readonly metrics: WireMetric[];
  readonly params: KeyValue[];
  readonly tags: KeyValue[];
}

export class MlflowClient {
  readonly http: MlflowHttp;

  constructor(http: MlflowHttp | MlflowHttpOptions) {
    this.http = http instanceof MlflowHttp ? http : new MlflowHttp(http);
  }

  /** The experiment, or undefined when none has that name. */
  async getExperimentByName(name: string): Promise<s.Experiment | undefined> {
    try {
      const res = await this.get('experiments/get-by-name', { experiment_name: name }, s.getExperimentResponse);
      return res.experiment;
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /** Creates an experiment and returns its id. */
  async createExperiment(name: string, options: { artifactLocation?: string; tags?: KeyValues } = {}): Promise<string> {
    const body = { name, artifact_location: options.artifactLocation, tags: pairs(options.tags) };
    return (await this.post('experiments/create', body, s.createExperimentResponse)).experiment_id;
  }

  /** Race-safe: if another process creates the experiment in between, that one is returned. */
  async getOrCreateExperiment(name: string): Promise<s.Experiment> {
    const found = await this.getExperimentByName(name);
    if (found !== undefined) return found;
    try {
      await this.createExperiment(name);
    } catch (error) {
      if (!(error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS')) throw error;
    }
    const created = await this.getExperimentByName(name);
    if (created === undefined) {
      throw new MlflowUsageError(`experiment ${describeValue(name)} was created but cannot be read back (deleted?)`);
    }
    return created;
  }

  /**
   * Tags such as `mlflow.parentRunId` belong here so the UI nests the run from the start. Safe to
   * retry: a create whose answer was lost is found by its client token, not made twice (create-run.ts).
   */
  async createRun(options: { experimentId: string; runName?: string; startTime: number; tags?: KeyValues; clientToken?: string }): Promise<s.Run> {
    return createRunOnce(this.http, { ...options, tags: pairs(options.tags).map((t) => checkTag(t)) });
  }

  /** The run of the experiment created with this client token (createRun's `clientToken`), if any. */
  async findRunByToken(experimentId: string, token: string): Promise<s.Run | undefined> {
    return findRunByToken(this.http, experimentId, token);
  }

  async getRun(runId: string): Promise<s.Run> {
    return (await this.get('runs/get', { run_id: runId }, s.runResponse)).run;
  }

  async updateRun(options: { runId: string; status: s.RunStatus; endTime?: number; runName?: string }): Promise<void> {
    const body = { run_id: options.runId, status: options.status, end_time: options.endTime, run_name: options.runName };
    await this.post('runs/update', body, s.updateRunResponse);
  }

  /**
   * Logs any number of metrics, params and tags, split into requests within the server's limits
   * (params first, then tags, then metrics). Everything is validated before the first request.
   * Returns how many requests were sent.
   */
  async logBatch(options: { runId: string; metrics?: readonly MetricPoint[]; params?: KeyValues; tags?: KeyValues }): Promise<number> {
    const batches = planBatches(options);
    for (const batch of batches) await this.post('runs/log-batch', { run_id: options.runId, ...batch }, s.emptyResponse);
    return batches.length;
  }

  async setTag(runId: string, key: string, value: string): Promise<void> {
    const tag = checkTag({ key, value });
    await this.post('runs/set-tag', { run_id: runId, ...tag }, s.emptyResponse);
  }

  async logParam(runId: string, key: string, value: string): Promise<void> {
    const param = checkParam({ key, value });
    await this.post('runs/log-parameter', { run_id: runId, ...param }, s.emptyResponse);
  }

  /** Appends to the run's `mlflow.log-model.history` tag, which fills the runs table's Models column. */
  async logModel(runId: string, model: LoggedModelInfo): Promise<void> {
    const modelJson = JSON.stringify({
      run_id: runId,
      artifact_path: model.artifactPath,
      utc_time_created: model.utcTimeCreated,
      flavors: model.flavors,
      ...(model.modelUuid === undefined ? {} : { model_uuid: model.modelUuid }),
    });
    await this.post('runs/log-model', { run_id: runId, model_json: modelJson }, s.emptyResponse);
  }

  async searchRuns(options: SearchRunsOptions): Promise<s.SearchRunsPage> {
    const body = {
      experiment_ids: options.experimentIds,
      filter: options.filter,
      max_results: options.maxResults,
      order_by: options.orderBy,
      page_token: options.pageToken,
      run_view_type: options.runViewType,
    };
    return this.post('runs/search', body, s.searchRunsResponse);
  }

  /** Every matching run, following next_page_token. */
  async *iterateRuns(options: Omit<SearchRunsOptions, 'pageToken'>): AsyncGenerator<s.Run> {
    let pageToken: string | undefined;
    do {
      const page = await this.searchRuns(pageToken === undefined ? options : { ...options, pageToken });
      yield* page.runs;
      pageToken = page.next_page_token === '' ? undefined : page.next_page_token;
    } while (pageToken !== undefined);
  }

  /** All points of one metric, in the server's order, following pages of `pageSize`. */
  async getMetricHistory(runId: string, key: string, pageSize = 25_000): Promise<s.Metric[]> {
    const points: s.Metric[] = [];
    let pageToken: string | undefined;
    do {
      const query = { run_id: runId, metric_key: key, max_results: pageSize, page_token: pageToken };
      const page = await this.get('metrics/get-history', query, s.metricHistoryResponse);
      points.push(...page.metrics);
      pageToken = page.next_page_token === '' ? undefined : page.next_page_token;
    } while (pageToken !== undefined);
    return points;
  }

  private get<S extends Parameters<MlflowHttp['json']>[1]>(endpoint: string, query: NonNullable<RequestSpec['query']>, schema: S) {
    return this.http.json({ method: 'GET', path: `${API}/${endpoint}`, query }, schema);
  }

  private post<S extends Parameters<MlflowHttp['json']>[1]>(endpoint: string, body: object, schema: S) {
    return this.http.json({ method: 'POST', path: `${API}/${endpoint}`, json: body }, schema);
  }
}

/** Splits a batch into requests that each respect every limit in LIMITS. Throws before anything is sent. */
export function planBatches(input: { metrics?: readonly MetricPoint[]; params?: KeyValues; tags?: KeyValues }): BatchRequest[] {
  const items: Array<['params' | 'tags', KeyValue] | ['metrics', WireMetric]> = [
    ...pairs(input.params).map((p) => ['params', checkParam(p)] as ['params', KeyValue]),
    ...pairs(input.tags).map((t) => ['tags', checkTag(t)] as ['tags', KeyValue]),
    ...(input.metrics ?? []).map((m, i) => ['metrics', checkMetric(m, i)] as ['metrics', WireMetric]),
  ];
  const batches: BatchRequest[] = [];
  let current: BatchRequest = { metrics: [], params: [], tags: [] };
  let bytes = 0;
  const caps = { metrics: LIMITS.metricsPerRequest, params: LIMITS.paramsPerRequest, tags: LIMITS.tagsPerRequest };
  for (const [kind, item] of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    const count = current.metrics.length + current.params.length + current.tags.length;
    const full = current[kind].length >= caps[kind] || count >= LIMITS.itemsPerRequest || bytes + size > LIMITS.bytesPerRequest;
    if (full && count > 0) {
      batches.push(current);
      current = { metrics: [], params: [], tags: [] };
      bytes = 0;
    }
    if (kind === 'metrics') current.metrics.push(item);
    else current[kind].push(item);
    bytes += size;
  }
  if (current.metrics.length + current.params.length + current.tags.length > 0) batches.push(current);
  return batches;
}

function pairs(values: KeyValues | undefined): KeyValue[] {
  if (values === undefined) return [];
  if (Array.isArray(values)) return [...values];
  return Object.entries(values).map(([key, value]) => ({ key, value }));
}

const codePoints = (text: string): number => [...text].length;

/** Same rules as the server's validate_param_and_metric_name + path_not_unique + the key length limit. */
export function checkKey(kind: string, key: string): void {
  const what = `${kind} key ${describeValue(key.length > 300 ? `${key.slice(0, 60)}…` : key)}`;
  if (key === '') throw new MlflowUsageError(`${kind} key is empty`);
  if (codePoints(key) > LIMITS.keyLength) {
    throw new MlflowUsageError(`${what} is ${codePoints(key)} characters long; MLflow allows at most ${LIMITS.keyLength}`);
  }
  if (!/^[\p{L}\p{N}_/.\- :]+$/u.test(key)) {
    throw new MlflowUsageError(`${what} has a character MLflow rejects; allowed: letters, digits, _ - . / : and space`);
  }
  const segments = key.split('/');
  if (key.startsWith('..') || segments.some((seg) => seg === '' || seg === '.' || seg === '..')) {
    throw new MlflowUsageError(`${what} is not a normalized path (empty, "." or ".." segment); MLflow rejects it`);
  }
}

function checkParam(param: KeyValue): KeyValue {
  checkKey('param', param.key);
  if (codePoints(param.value) > LIMITS.paramValueLength) {
    throw new MlflowUsageError(
      `param ${JSON.stringify(param.key)} has a value of ${codePoints(param.value)} characters; MLflow allows at most ${LIMITS.paramValueLength}`,
    );
  }
  return { key: param.key, value: param.value };
}

/** Tag values over the limit are cut and end in a marker saying so. */
export function checkTag(tag: KeyValue): KeyValue {
  checkKey('tag', tag.key);
  const chars = [...tag.value];
  if (chars.length <= LIMITS.tagValueLength) return { key: tag.key, value: tag.value };
  const marker = `… [truncated from ${chars.length} characters]`;
  return { key: tag.key, value: chars.slice(0, LIMITS.tagValueLength - marker.length).join('') + marker };
}

function checkMetric(metric: MetricPoint, index: number): WireMetric {
  checkKey('metric', metric.key);
  const step = metric.step ?? 0;
  const where = `metric ${JSON.stringify(metric.key)} (item ${index})`;
  if (typeof metric.value !== 'number') throw new MlflowUsageError(`${where} has value ${describeValue(metric.value)}; expected a number`);
  if (!Number.isSafeInteger(metric.timestamp) || metric.timestamp < 0) {
    throw new MlflowUsageError(`${where} has timestamp ${describeValue(metric.timestamp)}; expected integer milliseconds since the epoch`);
  }
  if (!Number.isSafeInteger(step)) throw new MlflowUsageError(`${where} has step ${describeValue(step)}; expected an integer`);
  return { key: metric.key, value: s.encodeMetricValue(metric.value), timestamp: metric.timestamp, step };
}
