/**
 * TensorFlow's allocation failures, said in the user's terms: what was running, the batch size it
 * ran with and a smaller one to try. Training, validation, the test set and building the activation
 * cache all run in batches of `batch_size`, so lowering it helps wherever memory ran out.
 */
import { TrainingError } from '../../errors.js';

const OOM = /\bOOM\b|out of memory|failed to allocate|bad_alloc|exceeds \d+% of (free )?system memory/i;

/** The out-of-memory error for `error`, or undefined when TensorFlow's message is about something else. */
export function outOfMemory(error: unknown, batchSize: number, during = 'training'): TrainingError | undefined {
  const message = error instanceof Error ? error.message : String(error);
  if (!OOM.test(message)) return undefined;
  return new TrainingError(
    `Out of memory while ${during} with batch_size ${batchSize}; try batch_size ${Math.max(1, Math.floor(batchSize / 2))} ` +
      `(or a smaller input_size). TensorFlow said: ${message.split('\n')[0] ?? message}`,
    { cause: error },
  );
}

/** Runs `work`, turning an out-of-memory failure into the error above (others pass through). */
export async function reportingOutOfMemory<T>(work: () => Promise<T>, batchSize: number, during: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw outOfMemory(error, batchSize, during) ?? error;
  }
}
