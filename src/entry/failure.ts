/** Turns an error into what the user sees and an exit code. User errors get one line, no stack. */
import { TransferkitError } from '../errors.js';

export const EXIT_USER_ERROR = 2;
export const EXIT_FAILURE = 1;
export const EXIT_INTERRUPTED = 130;

export interface Failure {
  readonly exitCode: number;
  readonly message: string;
  readonly code: string;
  readonly userError: boolean;
}

export function describeFailure(error: unknown): Failure {
  if (error instanceof TransferkitError) {
    return {
      exitCode: error.userError ? EXIT_USER_ERROR : EXIT_FAILURE,
      message: error.userError ? error.message : `${error.message}\n${error.stack ?? ''}`,
      code: error.code,
      userError: error.userError,
    };
  }
  if (error instanceof Error && error.name === 'AbortError') {
    return { exitCode: EXIT_INTERRUPTED, message: 'interrupted', code: 'ERR_INTERRUPTED', userError: true };
  }
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  return { exitCode: EXIT_FAILURE, message: `internal error: ${message}`, code: 'ERR_INTERNAL', userError: false };
}
