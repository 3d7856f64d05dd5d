/**
 * Run data (metric points, params, tags) waits here until the tracking server has it. Each point's
 * timestamp is fixed when it is recorded, so resending after a failure is idempotent (MLflow drops
 * identical points, and re-logging a param with the same value or a tag is harmless). Sending
 * happens in the background: training never waits for the server. When the server is away, the
 * data stays queued and goes out when it answers again.
 */
import type { MetricPoint } from '../mlflow/client.js';

export interface BatchSender {
  logBatch(options: {
    runId: string;
    metrics: readonly MetricPoint[];
    params: Readonly<Record<string, string>>;
    tags: Readonly<Record<string, string>>;
  }): Promise<unknown>;
}

/** Metric points per attempt; the client splits further to MLflow's per-request limits. */
const CHUNK = 1000;

export class RunDataBuffer {
  readonly #metrics: MetricPoint[] = [];
  readonly #params = new Map<string, string>();
  readonly #tags = new Map<string, string>();
  #sending: Promise<void> | undefined;
  #lastError: unknown;

  constructor(
    private readonly sender: BatchSender,
    private readonly runId: string,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  /** Metric points not yet acknowledged by the server. */
  get pending(): readonly MetricPoint[] {
    return this.#metrics;
  }
  get pendingParams(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.#params);
  }
  get pendingTags(): Readonly<Record<string, string>> {
    return Object.fromEntries(this.#tags);
  }
  get empty(): boolean {
    return this.#metrics.length === 0 && this.#params.size === 0 && this.#tags.size === 0;
  }
  get lastError(): unknown {
    return this.#lastError;
  }

  add(data: { metrics?: readonly MetricPoint[]; params?: Readonly<Record<string, string>>; tags?: Readonly<Record<string, string>> }): void {
    if (data.metrics !== undefined) this.#metrics.push(...data.metrics);
    for (const [k, v] of Object.entries(data.params ?? {})) this.#params.set(k, v);
    for (const [k, v] of Object.entries(data.tags ?? {})) this.#tags.set(k, v);
    this.#kick();
  }

  #kick(): void {
    this.#sending ??= this.#sendOnce().finally(() => {
      this.#sending = undefined;
    });
  }

  /** One attempt at sending everything queued; on failure the data stays queued. */
  async #sendOnce(): Promise<void> {
    while (!this.empty) {
      const metrics = this.#metrics.slice(0, CHUNK);
      const params = this.pendingParams;
      const tags = this.pendingTags;
      try {
        await this.sender.logBatch({ runId: this.runId, metrics, params, tags });
      } catch (error) {
        this.#lastError = error;
        return;
      }
      this.#metrics.splice(0, metrics.length);
      for (const [k, v] of Object.entries(params)) if (this.#params.get(k) === v) this.#params.delete(k);
      for (const [k, v] of Object.entries(tags)) if (this.#tags.get(k) === v) this.#tags.delete(k);
      this.#lastError = undefined;
    }
  }

  /**
   * Sends until nothing is queued, retrying every `retryMs`, for at most `deadlineMs`.
   * Returns true when everything was sent.
   */
  async drain(deadlineMs: number, now: () => number, retryMs = 2000): Promise<boolean> {
    const until = now() + deadlineMs;
    for (;;) {
      if (this.#sending !== undefined) await this.#sending;
      if (this.empty) return true;
      if (now() >= until) return false;
      await this.sleep(Math.min(retryMs, Math.max(0, until - now())));
      this.#kick();
    }
  }
}
