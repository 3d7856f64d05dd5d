/**
 * What every command does with an error: said once, on one line, with no stack unless --debug
 * (text: `transferkit: <message>` on stderr; json: one error log line with the code), and the MLflow
 * run ended FAILED (KILLED when interrupted) with the message as its note. Returns the exit code.
 */
import type { Logger } from '../log.js';
import { failRun, type CompleteOptions } from '../tracking/run-tracking.js';
import type { TrackingSession } from '../tracking/session.js';
import { describeFailure, failureNote } from './failure.js';

export interface FailureOutput {
  readonly logger: Logger;
  readonly stderr: { write(text: string): unknown };
  /** `json`: the error is the logger's line alone; otherwise a `transferkit:` line on stderr. */
  readonly logFormat?: 'text' | 'json';
  readonly debug?: boolean;
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim();

export async function endWithFailure(
  error: unknown,
  deps: FailureOutput,
  session: TrackingSession | undefined,
  timing: CompleteOptions & { outputDir?: string },
): Promise<number> {
  const failure = describeFailure(error);
  const stack = deps.debug === true ? failure.stack : undefined;
  const hint = failure.userError || deps.debug === true ? '' : ' (run with --debug for the stack trace)';
  if (deps.logFormat === 'json') {
    deps.logger.error({ code: failure.code, ...(stack === undefined ? {} : { stack }) }, `${oneLine(failure.message)}${hint}`);
  } else {
    deps.stderr.write(`transferkit: ${oneLine(failure.message)}${hint}\n${stack === undefined ? '' : `${stack}\n`}`);
  }
  if (session !== undefined) {
    // when the server already failed to answer, don't wait for it again before ending
    const wait = failure.code === 'ERR_TRACKING_UNAVAILABLE' ? { ...timing, waitMs: 0 } : timing;
    await failRun(session, { ...failure, message: failureNote(failure), interrupted: failure.code === 'ERR_INTERRUPTED' }, wait).catch((e: unknown) =>
      deps.logger.warn({ reason: e instanceof Error ? e.message : String(e) }, 'could not mark the MLflow run as failed'),
    );
  }
  return failure.exitCode;
}
