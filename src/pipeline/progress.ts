/**
 * Live progress of the long steps (epochs, the activation-cache build, evaluation, downloads), for
 * whoever shows it: the terminal draws bars with rate and ETA (src/output/), everyone else ignores it.
 */
export type ProgressUnit = 'images' | 'bytes';

export interface ProgressTask {
  /** `amount` more items done. */
  advance(amount: number): void;
  /** The step is over (done or failed): its bar goes away. */
  end(): void;
}

export interface Progress {
  /** A step of `total` items (0 when unknown, e.g. a download without Content-Length). */
  start(label: string, total: number, unit: ProgressUnit): ProgressTask;
}

const idle: ProgressTask = { advance: () => undefined, end: () => undefined };

/** Shows nothing: off a terminal, in JSON mode and in tests. */
export const noProgress: Progress = { start: () => idle };

/** Runs `body` as a step: ended whatever happens. */
export async function withProgress<T>(
  progress: Progress | undefined,
  step: { readonly label: string; readonly total: number; readonly unit: ProgressUnit },
  body: (task: ProgressTask) => Promise<T>,
): Promise<T> {
  const task = (progress ?? noProgress).start(step.label, step.total, step.unit);
  try {
    return await body(task);
  } finally {
    task.end();
  }
}
