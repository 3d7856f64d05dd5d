/**
 * Metric points wait here until the tracking server has them. Each point's timestamp is fixed when
 * it is recorded, so resending after a failure is idempotent (MLflow drops identical points).
 * Sending happens in the background: training never waits for the server. When the server is away,
 * points stay queued and go out when it answers again.
 */
import type { MetricPoint } from '../mlflow/client.js';

export interface BatchSender {
  logBatch(options: { runId: string; metrics: readonly MetricPoint[] }): Promise<unknown>;
}

export class MetricBuffer {
  readonly #pending: MetricPoint[] = [];
  #sending: Promise<void> | undefined;
  #lastError: unknown;
  #sent = 0;

  constructor(
    private readonly sender: BatchSender,
    private readonly runId: string,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  get pending(): readonly MetricPoint[] {
    return this.#pending;
  }
  get sent(): number {
    return this.#sent;
  }
  get lastError(): unknown {
    return this.#lastError;
  }

  /** Queues points and starts sending them in the background. */
  add(points: readonly MetricPoint[]): void {
    this.#pending.push(...points);
    this.#kick();
  }

  #kick(): void {
    this.#sending ??= this.#sendOnce().finally(() => {
      this.#sending = undefined;
    });
  }

  /** One attempt at sending everything queued; on failure the points stay queued. */
  async #sendOnce(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending.slice(0, 1000);
      try {
        await this.sender.logBatch({ runId: this.runId, metrics: batch });
      } catch (error) {
        this.#lastError = error;
        return;
      }
      this.#pending.splice(0, batch.length);
      this.#sent += batch.length;
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
      if (this.#pending.length === 0) return true;
      if (now() >= until) return false;
      await this.sleep(Math.min(retryMs, Math.max(0, until - now())));
      this.#kick();
    }
  }
}
