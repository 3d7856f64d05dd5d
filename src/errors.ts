/**
 * Error families. Each has a stable `code` that callers and tests match on; only the entry turns
 * them into messages and exit codes. `userError` errors are printed without a stack trace.
 */
export interface ErrorOptions {
  readonly cause?: unknown;
}

export class TransferkitError extends Error {
  readonly code: string;
  /** True when the user can fix it (bad input, missing file); false for bugs and environment faults. */
  readonly userError: boolean;

  constructor(code: string, message: string, options: ErrorOptions & { userError?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.userError = options.userError ?? true;
  }
}

/** A parameter failed validation: names the parameter, the value and what was expected. */
export class ParamError extends TransferkitError {
  readonly param: string;
  constructor(param: string, message: string, options: ErrorOptions = {}) {
    super('ERR_PARAM', message, options);
    this.param = param;
  }
}

/** A dataset file is missing, truncated or not in the expected format. */
export class DataError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_DATA', message, options);
  }
}

/** A weights file does not match the backbone (layers, shapes) or cannot be read. */
export class WeightsError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_WEIGHTS', message, options);
  }
}

/** A downloaded or cached file does not have the published checksum. */
export class ChecksumError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_CHECKSUM', message, options);
  }
}

/** A download failed (network, HTTP status, disallowed URL). */
export class DownloadError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_DOWNLOAD', message, options);
  }
}

/** The TensorFlow backend is not the native one, or cannot start. */
export class BackendError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_BACKEND', message, options);
  }
}

/** Writing the model or another output failed. */
export class ExportError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_EXPORT', message, { ...options, userError: false });
  }
}

/** Training diverged or could not continue (NaN loss, out of memory). */
export class TrainingError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_TRAINING', message, options);
  }
}

/** A saved model cannot be used: missing or corrupt files, an unknown model URI, an older format. */
export class ModelError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_MODEL', message, options);
  }
}

/** Input to a saved model is not what its contract says (shape, size, not an image). */
export class InputError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_INPUT', message, options);
  }
}

/** A checkpoint cannot be resumed (other inputs, another format, its folder unreadable). */
export class CheckpointError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_CHECKPOINT', message, options);
  }
}

/**
 * A broken invariant that only a bug can cause (an index outside its set, a label outside the
 * classes): thrown instead of substituting a value, so a wrong result never passes silently.
 */
export class InternalError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_INTERNAL', message, { ...options, userError: false });
  }
}

/** `"abc" (string)`, `12 (number)`, `undefined`: how a value appears in error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return `${String(value)} (${typeof value})`;
  }
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  return `a value of type ${typeof value}`;
}
