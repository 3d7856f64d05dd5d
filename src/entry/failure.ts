/**
 * Turns an error into what the user sees and an exit code: one line, the message alone. The stack
 * is kept apart (shown with --debug, and in the MLflow run's note for bugs).
 */
import { TransferkitError } from '../errors.js';

export const EXIT_USER_ERROR = 2;
export const EXIT_FAILURE = 1;
export const EXIT_INTERRUPTED = 130;

export interface Failure {
  readonly exitCode: number;
  /** What went wrong, for people (no stack). */
  readonly message: string;
  readonly code: string;
  readonly userError: boolean;
  /** The stack trace, when the error has one. */
  readonly stack?: string;
}

const stackOf = (error: Error) => (error.stack === undefined ? {} : { stack: error.stack });

export function describeFailure(error: unknown): Failure {
  if (error instanceof TransferkitError) {
    return { exitCode: error.userError ? EXIT_USER_ERROR : EXIT_FAILURE, message: error.message, code: error.code, userError: error.userError, ...stackOf(error) };
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return { exitCode: EXIT_INTERRUPTED, message: 'interrupted', code: 'ERR_INTERRUPTED', userError: true };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_FAILURE, message: `internal error: ${message}`, code: 'ERR_INTERNAL', userError: false, ...(error instanceof Error ? stackOf(error) : {}) };
}

/** The run's note and error tag: the message, plus the stack for what is not the user's to fix. */
export function failureNote(failure: Pick<Failure, 'message' | 'userError' | 'stack'>): string {
  return failure.userError || failure.stack === undefined ? failure.message : `${failure.message}\n${failure.stack}`;
}
