/**
 * What the pipeline tells whoever listens (the tracking layer, the progress line). The pipeline never
 * imports the MLflow client: tracking subscribes to these.
 */
import type { EpochMetrics } from './train/fit.js';
import type { Evaluation } from './evaluate.js';

export interface RunStarted {
  /** Parameters after defaults and derivation (e.g. input_size 0 → the backbone's default). */
  readonly resolvedParams: Readonly<Record<string, string>>;
  /** Facts about the run: backend, versions, data and weights fingerprints. */
  readonly tags: Readonly<Record<string, string>>;
}

export interface RunFinished {
  readonly test: Evaluation;
  readonly classNames: readonly string[];
  readonly modelDir: string;
  readonly outputDir: string;
  readonly inputSize: number;
  readonly tfjsVersion: string;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
  readonly trainSeconds: number;
  readonly totalSeconds: number;
  /** Facts known only at the end, for the run's tags. */
  readonly tags: Readonly<Record<string, string>>;
  /** Closing numbers beyond the test metrics (baselines, wall times, goal gap), logged at step 0. */
  readonly metrics: Readonly<Record<string, number>>;
  /** The source model of a source→target recipe, when one was trained. */
  readonly sourceModelDir?: string;
  /** True when this process continued from a checkpoint. */
  readonly resumed?: boolean;
}

/**
 * Which model an epoch belongs to: `target` is the run's model; `source` the source model of a
 * source→target recipe (stage 0); `scratch` the from-scratch baseline it is compared with.
 */
export type Phase = 'source' | 'target' | 'scratch';

export interface EpochContext {
  readonly phase: Phase;
  /** The last epoch number this phase can reach (1-based), for progress display. */
  readonly maxEpochs: number;
  /** Sent again from a checkpoint by a resumed run (already shown; tracking deduplicates). */
  readonly replayed?: boolean;
}

export interface PipelineEvents {
  started?(event: RunStarted): void | Promise<void>;
  epoch?(metrics: EpochMetrics, context: EpochContext): void | Promise<void>;
  finished?(event: RunFinished): void | Promise<void>;
}

/** One listener that calls each of the given ones in order. */
export function mergeEvents(...all: readonly (PipelineEvents | undefined)[]): PipelineEvents {
  const list = all.filter((e): e is PipelineEvents => e !== undefined);
  return {
    started: async (e) => {
      for (const l of list) await l.started?.(e);
    },
    epoch: async (m, context) => {
      for (const l of list) await l.epoch?.(m, context);
    },
    finished: async (e) => {
      for (const l of list) await l.finished?.(e);
    },
  };
}
