/**
 * The request core of the MLflow REST client: URL building, auth, per-attempt timeouts, and retries
 * with capped, jittered exponential backoff. Everything with side effects (fetch, clock, sleep,
 * randomness, environment) is injected, so tests need no globals.
 */
import type { z } from 'zod';
import { describeValue } from '../errors.js';
import { MlflowApiError, MlflowUnreachableError, MlflowUsageError } from './errors.js';
import { errorBodySchema } from './schemas.js';

export type FetchLike = typeof globalThis.fetch;
export type Env = Readonly<Record<string, string | undefined>>;
export type RequestBody = NonNullable<NonNullable<Parameters<FetchLike>[1]>['body']>;

export interface RetryPolicy {
  /** Retries after the first attempt (MLflow's Python client: 7). */
  readonly maxRetries: number;
  /** Delay before the first retry; doubles per retry. */
  readonly baseDelayMs: number;
  /** Upper bound of any single delay. */
  readonly maxDelayMs: number;
  /** Give up once this much time has passed since the first attempt (all attempts and sleeps). */
  readonly deadlineMs?: number | undefined;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 7, baseDelayMs: 500, maxDelayMs: 10_000 };
/** Statuses MLflow's Python client retries. Everything else (400, 401, 403, 404, ...) fails at once. */
export const RETRY_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 502, 503, 504]);
export const DEFAULT_TIMEOUT_MS = 120_000;

export interface RetryEvent {
  readonly endpoint: string;
  /** 1 for the first retry. */
  readonly retry: number;
  readonly delayMs: number;
  readonly reason: string;
}

export interface MlflowHttpOptions {
  /** http(s)://host[:port][/prefix] of the tracking server. */
  readonly trackingUri: string;
  readonly fetch?: FetchLike;
  /** Source of MLFLOW_TRACKING_TOKEN / _USERNAME / _PASSWORD; nothing is read from process.env. */
  readonly env?: Env;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
  /** Uniform in [0, 1), for jitter. */
  readonly random?: () => number;
  readonly retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout, including reading the response body. */
  readonly timeoutMs?: number;
  readonly onRetry?: (event: RetryEvent) => void;
}

export interface RequestSpec {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH';
  /** Absolute path below the tracking URI, e.g. `/api/2.0/mlflow/runs/get`. Must already be encoded. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | number | undefined>>;
  /** JSON body, serialized once so every retry sends identical bytes. */
  readonly json?: unknown;
  /** Raw body, built anew for every attempt (a stream cannot be replayed). */
  readonly body?: () => RequestBody;
  readonly headers?: Readonly<Record<string, string>>;
}

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Thrown inside an attempt when the failure must not be retried. */
class FinalError extends Error {
  constructor(readonly error: Error) {
    super(error.message);
  }
}

export class MlflowHttp {
  readonly trackingUri: string;
  readonly policy: RetryPolicy;
  private readonly base: URL;
  private readonly fetchFn: FetchLike;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly auth: string | undefined;
  private readonly onRetry: ((event: RetryEvent) => void) | undefined;

  constructor(options: MlflowHttpOptions) {
    this.base = parseTrackingUri(options.trackingUri);
    this.trackingUri = this.base.href.replace(/\/$/, '');
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.auth = authHeader(options.env ?? {});
    this.onRetry = options.onRetry;
  }

  url(path: string, query: RequestSpec['query'] = {}): URL {
    if (!path.startsWith('/')) throw new MlflowUsageError(`request path must start with "/", got ${describeValue(path)}`);
    const url = new URL(this.base.href);
    url.pathname = this.base.pathname.replace(/\/$/, '') + path;
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Sends `spec` (with retries) and parses the JSON answer with `schema`; `recover` as in `call`. */
  json<S extends z.ZodType>(spec: RequestSpec, schema: S, recover?: () => Promise<z.output<S> | undefined>): Promise<z.output<S>> {
    return this.call(spec, async (res, endpoint, retried) => {
      const text = await res.text();
      let body: unknown;
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch (cause) {
        throw new FinalError(this.badResponse(endpoint, res.status, retried, `is not JSON: ${snippet(text)}`, cause));
      }
      const parsed = schema.safeParse(body);
      if (!parsed.success) {
        const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
        throw new FinalError(this.badResponse(endpoint, res.status, retried, `has an unexpected shape (${issues})`, parsed.error));
      }
      return parsed.data;
    }, recover);
  }

  /**
   * Sends `spec`, retrying retryable statuses and network failures, and hands a 2xx response to
   * `read` inside the same attempt (so a connection dropped mid-body is retried too). Before each
   * retry, `recover` (for requests that must not be applied twice) may find what a failed attempt
   * did after all; what it returns is the answer, and nothing is sent again.
   */
  async call<T>(spec: RequestSpec, read: (res: Response, endpoint: string, retried: number) => Promise<T>, recover?: () => Promise<T | undefined>): Promise<T> {
    const endpoint = `${spec.method} ${spec.path}`;
    const url = this.url(spec.path, spec.query);
    const payload = spec.json === undefined ? undefined : JSON.stringify(spec.json);
    const started = this.now();
    const { maxRetries, deadlineMs } = this.policy;
    for (let retried = 0; ; retried++) {
      const remaining = deadlineMs === undefined ? Infinity : started + deadlineMs - this.now();
      const timeout = Math.max(1, Math.min(this.timeoutMs, remaining));
      let reason: string;
      let retryAfterMs: number | undefined;
      let failure: Error;
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(new TimeoutMarker(timeout)), timeout);
      try {
        const body = payload ?? spec.body?.();
        const res = await this.fetchFn(url, {
          method: spec.method,
          headers: this.headers(spec, payload !== undefined),
          redirect: 'manual',
          signal: controller.signal,
          ...(body === undefined ? {} : { body, duplex: 'half' }),
        });
        if (res.ok) return await read(res, endpoint, retried);
        const failed = await this.statusError(res, endpoint, retried);
        if (!RETRY_STATUSES.has(res.status)) throw new FinalError(failed);
        reason = `status ${res.status}`;
        retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
        failure = failed;
      } catch (error) {
        if (error instanceof FinalError) throw error.error;
        if (error instanceof MlflowApiError) throw error;
        const timedOut = controller.signal.aborted && controller.signal.reason instanceof TimeoutMarker;
        reason = timedOut ? `timed out after ${timeout} ms` : networkMessage(error);
        failure = new MlflowUnreachableError(
          `cannot reach the MLflow tracking server at ${this.trackingUri}: ${endpoint} ${reason}` +
            `${retried > 0 ? ` (after ${retried} retries)` : ''}. Check that the server is running and the tracking URI is right.`,
          { retried, endpoint },
          { cause: error },
        );
      } finally {
        clearTimeout(timer);
      }
      const delay = this.backoff(retried, retryAfterMs);
      const outOfTime = deadlineMs !== undefined && this.now() + delay >= started + deadlineMs;
      if (retried >= maxRetries || outOfTime) throw failure;
      this.onRetry?.({ endpoint, retry: retried + 1, delayMs: delay, reason });
      await this.sleep(delay);
      const recovered = await recover?.();
      if (recovered !== undefined) return recovered;
    }
  }

  /** Delay before retry number `retried + 1`: base·2^retried capped, jittered to [50 %, 100 %]. */
  backoff(retried: number, retryAfterMs?: number): number {
    const { baseDelayMs, maxDelayMs } = this.policy;
    const ceiling = Math.min(maxDelayMs, baseDelayMs * 2 ** retried);
    const jittered = ceiling * (0.5 + 0.5 * this.random());
    return Math.round(Math.min(maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
  }

  private headers(spec: RequestSpec, isJson: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json', ...spec.headers };
    if (isJson) headers['content-type'] = 'application/json';
    if (this.auth !== undefined) headers.authorization = this.auth;
    return headers;
  }

  private async statusError(res: Response, endpoint: string, retried: number): Promise<MlflowApiError> {
    if (res.status >= 300 && res.status < 400) {
      const to = res.headers.get('location') ?? 'an unknown location';
      return new MlflowApiError(
        `MLflow ${endpoint} at ${this.trackingUri} answered ${res.status}, a redirect to ${to}; redirects are not ` +
          'followed (the client only talks to the configured tracking URI). Set MLFLOW_TRACKING_URI to the final address.',
        { status: res.status, retried, endpoint },
      );
    }
    const text = await res.text().catch(() => '');
    let body: z.infer<typeof errorBodySchema> = {};
    try {
      const parsed = errorBodySchema.safeParse(JSON.parse(text));
      if (parsed.success) body = parsed.data;
    } catch {
      // not JSON (a proxy's HTML page): the snippet below says enough
    }
    const detail = snippet(body.message ?? text);
    const code = body.error_code === undefined ? '' : ` ${body.error_code}`;
    const after = retried > 0 ? ` (after ${retried} retries)` : '';
    return new MlflowApiError(
      `MLflow ${endpoint} at ${this.trackingUri} failed with HTTP ${res.status}${code}: ${detail}${after}`,
      { status: res.status, errorCode: body.error_code, retried, endpoint },
    );
  }

  private badResponse(endpoint: string, status: number, retried: number, what: string, cause: unknown): MlflowApiError {
    return new MlflowApiError(
      `MLflow ${endpoint} at ${this.trackingUri} answered ${status} but the body ${what}`,
      { status, retried, endpoint, errorCode: undefined },
      { cause },
    );
  }
}

class TimeoutMarker extends Error {
  constructor(ms: number) {
    super(`timed out after ${ms} ms`);
  }
}

function parseTrackingUri(uri: string): URL {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (cause) {
    throw new MlflowUsageError(`tracking URI ${describeValue(uri)} is not a URL; expected http(s)://host:port`, { cause });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new MlflowUsageError(`tracking URI ${describeValue(uri)} is not http(s); the REST client needs an MLflow server URL`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new MlflowUsageError(
      `tracking URI ${url.protocol}//${url.host} carries credentials; use MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD instead`,
    );
  }
  url.search = '';
  url.hash = '';
  return url;
}

/** Same precedence as MLflow's Python client: username+password (Basic) over token (Bearer). */
export function authHeader(env: Env): string | undefined {
  const user = env.MLFLOW_TRACKING_USERNAME ?? '';
  const password = env.MLFLOW_TRACKING_PASSWORD ?? '';
  if ((user === '') !== (password === '')) {
    const missing = user === '' ? 'MLFLOW_TRACKING_USERNAME' : 'MLFLOW_TRACKING_PASSWORD';
    throw new MlflowUsageError(`${missing} is not set, but its partner is; Basic auth needs both`);
  }
  if (user !== '') return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const token = env.MLFLOW_TRACKING_TOKEN ?? '';
  return token === '' ? undefined : `Bearer ${token}`;
}

function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || !/^\d+$/.test(value.trim())) return undefined;
  return Number(value.trim()) * 1000;
}

function networkMessage(error: unknown): string {
  if (!(error instanceof Error)) return `failed: ${String(error)}`;
  const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
  return `failed: ${error.message}${cause}`;
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  if (flat === '') return '(empty body)';
  return flat.length > 500 ? `${flat.slice(0, 500)}…` : flat;
}
