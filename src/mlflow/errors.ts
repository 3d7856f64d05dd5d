import { TransferkitError, type ErrorOptions } from '../errors.js';

export interface MlflowApiErrorDetails {
  /** HTTP status, or undefined when no response arrived (network error, timeout). */
  readonly status?: number | undefined;
  /** MLflow's `error_code` from the response body, e.g. RESOURCE_DOES_NOT_EXIST. */
  readonly errorCode?: string | undefined;
  /** How many times the request was retried before giving up (0 = failed on the first try). */
  readonly retried: number;
  /** `METHOD /path` of the request, without query string or host. */
  readonly endpoint: string;
}

/** An MLflow REST call failed: an error status, a redirect, or a response of the wrong shape. */
export class MlflowApiError extends TransferkitError {
  readonly status: number | undefined;
  readonly errorCode: string | undefined;
  readonly retried: number;
  readonly endpoint: string;

  constructor(message: string, details: MlflowApiErrorDetails, options: ErrorOptions & { code?: string } = {}) {
    const status = details.status;
    // 4xx: the request (or credentials, or URI) is wrong, which the user can fix. 5xx: the server's fault.
    const userError = status === undefined || (status >= 400 && status < 500);
    super(options.code ?? 'ERR_MLFLOW_API', message, { cause: options.cause, userError });
    this.status = status;
    this.errorCode = details.errorCode;
    this.retried = details.retried;
    this.endpoint = details.endpoint;
  }
}

/** No response from the tracking server (connection refused, reset, DNS, timeout) even after retries. */
export class MlflowUnreachableError extends MlflowApiError {
  constructor(message: string, details: Omit<MlflowApiErrorDetails, 'status' | 'errorCode'>, options: ErrorOptions = {}) {
    super(message, { ...details, status: undefined, errorCode: undefined }, { ...options, code: 'ERR_MLFLOW_UNREACHABLE' });
  }
}

/** A local argument to the MLflow client is invalid (over-long key, unsafe artifact path, unsupported store). */
export class MlflowUsageError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_MLFLOW_USAGE', message, options);
  }
}

/** The `mlflow` executable could not be found. */
export class MlflowNotFoundError extends TransferkitError {
  constructor(message: string, options: ErrorOptions = {}) {
    super('ERR_MLFLOW_NOT_FOUND', message, options);
  }
}

/** A local `mlflow server` could not be started (exited early, timed out, bad store URI). */
export class LocalServerError extends TransferkitError {
  constructor(message: string, options: ErrorOptions & { code?: string } = {}) {
    super(options.code ?? 'ERR_MLFLOW_SERVER', message, options);
  }
}

/** Registering a model version failed: a name MLflow refuses, or the registry refusing the request. */
export class ModelRegistryError extends TransferkitError {
  constructor(message: string, options: ErrorOptions & { userError?: boolean } = {}) {
    super('ERR_MODEL_REGISTRY', message, options);
  }
}
