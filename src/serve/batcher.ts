/**
 * Requests share the model through a queue run in micro-batches: when the model is free, every
 * request waiting (up to `maxBatch` images; always at least one request) is stacked into one
 * input, predicted, and each request gets its own rows back. A request with more images than
 * `maxBatch` runs alone, in passes of `maxBatch`. Nothing is dropped: a failed prediction rejects
 * the requests of that batch only, and the queue goes on.
 */

export type PredictFn = (pixels: Float32Array, n: number) => Promise<Float32Array>;

export interface BatcherOptions {
  readonly predict: PredictFn;
  /** Values per image (H × W × 3) and per result row (classes). */
  readonly imageValues: number;
  readonly classes: number;
  readonly maxBatch: number;
  /** When the next batch starts (default: setImmediate, so requests parsed in the same turn join). */
  readonly schedule?: (run: () => void) => void;
  readonly onBatch?: (info: { readonly requests: number; readonly images: number }) => void;
}

interface Job {
  readonly pixels: Float32Array;
  readonly n: number;
  readonly resolve: (rows: Float32Array) => void;
  readonly reject: (error: unknown) => void;
}

export class Batcher {
  private readonly queue: Job[] = [];
  private running = false;
  private runningJobs = 0;
  private scheduled = false;
  private idleWaiters: Array<() => void> = [];
  private readonly schedule: (run: () => void) => void;

  constructor(private readonly o: BatcherOptions) {
    this.schedule = o.schedule ?? ((run) => setImmediate(run));
  }

  /** Requests waiting or running. */
  get pending(): number {
    return this.queue.length + this.runningJobs;
  }

  /** `n × classes` probabilities for `n` images. */
  submit(pixels: Float32Array, n: number): Promise<Float32Array> {
    if (n < 1 || pixels.length !== n * this.o.imageValues) {
      return Promise.reject(new RangeError(`expected ${n} image(s) of ${this.o.imageValues} values, got ${pixels.length}`));
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ pixels, n, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0 && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private kick(): void {
    if (this.running || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    this.schedule(() => {
      this.scheduled = false;
      void this.runBatch();
    });
  }

  private take(): Job[] {
    const jobs: Job[] = [];
    let images = 0;
    for (let next = this.queue[0]; next !== undefined; next = this.queue[0]) {
      if (jobs.length > 0 && images + next.n > this.o.maxBatch) break;
      jobs.push(next);
      images += next.n;
      this.queue.shift();
    }
    return jobs;
  }

  private async runBatch(): Promise<void> {
    if (this.running) return;
    const jobs = this.take();
    if (jobs.length === 0) return this.settleIdle();
    this.running = true;
    this.runningJobs = jobs.length;
    try {
      const rows = await this.predictAll(jobs);
      let offset = 0;
      for (const job of jobs) {
        job.resolve(rows.slice(offset, offset + job.n * this.o.classes));
        offset += job.n * this.o.classes;
      }
    } catch (error) {
      for (const job of jobs) job.reject(error);
    } finally {
      this.running = false;
      this.runningJobs = 0;
      if (this.queue.length > 0) this.kick();
      else this.settleIdle();
    }
  }

  private async predictAll(jobs: readonly Job[]): Promise<Float32Array> {
    const total = jobs.reduce((sum, j) => sum + j.n, 0);
    this.o.onBatch?.({ requests: jobs.length, images: total });
    let input: Float32Array;
    if (jobs.length === 1 && jobs[0] !== undefined) input = jobs[0].pixels;
    else {
      input = new Float32Array(total * this.o.imageValues);
      let at = 0;
      for (const job of jobs) {
        input.set(job.pixels, at);
        at += job.pixels.length;
      }
    }
    const out = new Float32Array(total * this.o.classes);
    for (let start = 0; start < total; start += this.o.maxBatch) {
      const k = Math.min(this.o.maxBatch, total - start);
      // a copy, not a view: tensors are made from whole buffers
      const part = k === total ? input : input.slice(start * this.o.imageValues, (start + k) * this.o.imageValues);
      const rows = await this.o.predict(part, k);
      if (rows.length !== k * this.o.classes) throw new Error(`the model gave ${rows.length} values for ${k} image(s) of ${this.o.classes} classes`);
      out.set(rows, start * this.o.classes);
    }
    return out;
  }

  private settleIdle(): void {
    if (this.pending > 0 || this.scheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
