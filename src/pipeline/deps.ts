/** What every pipeline (train, recommend) is given by its entry instead of reading globals. */
import type { Logger } from '../log.js';
import type { Progress } from './progress.js';

export interface PipelineDeps {
  readonly logger: Logger;
  /** Live progress of epochs, the activation cache, evaluation and downloads (absent: none). */
  readonly progress?: Progress;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly cwd: string;
  /** Downloads and caches (datasets, activations). */
  readonly cacheDir: string;
  readonly outputDir: string;
  /** Aborted when the work should stop (the entry's Ctrl-C, a failed tracking start); `fetch` honours it. */
  readonly signal?: AbortSignal;
}

/** A run id the tracking server has not given yet: training goes on, checkpoints carry it once it is known. */
export interface LaterRunId {
  /** The id, once known. */
  readonly current: () => string | undefined;
  /** The client token the run is created with: checkpoints written before the id is known name the run by it. */
  readonly token: string;
  /** Waits for the id; undefined when there will be none. */
  readonly settled: () => Promise<string | undefined>;
}
