/**
 * What every command does with an error: one line for the user (no stack for user errors), a JSON
 * log line, and the MLflow run ended FAILED (KILLED when interrupted) with the message as its note.
 * Returns the exit code.
 */
import type { Logger } from '../log.js';
import { failRun, type CompleteOptions } from '../tracking/run-tracking.js';
import type { TrackingSession } from '../tracking/session.js';
import { describeFailure } from './failure.js';

export async function endWithFailure(
  error: unknown,
  deps: { readonly logger: Logger; readonly stderr: { write(text: string): unknown } },
  session: TrackingSession | undefined,
  timing: CompleteOptions & { outputDir?: string },
): Promise<number> {
  const failure = describeFailure(error);
  deps.logger.error({ code: failure.code, err: failure.userError ? undefined : error }, failure.message.split('\n')[0] ?? '');
  deps.stderr.write(`transferkit: ${failure.message}\n`);
  if (session !== undefined) {
    // when the server already failed to answer, don't wait for it again before ending
    const wait = failure.code === 'ERR_TRACKING_UNAVAILABLE' ? { ...timing, waitMs: 0 } : timing;
    await failRun(session, { ...failure, interrupted: failure.code === 'ERR_INTERRUPTED' }, wait).catch((e: unknown) =>
      deps.logger.warn({ reason: e instanceof Error ? e.message : String(e) }, 'could not mark the MLflow run as failed'),
    );
  }
  return failure.exitCode;
}
