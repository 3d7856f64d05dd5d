/**
 * What the scoring server answers when a request cannot be served. The JSON shape is MLflow's
 * (`MlflowException.serialize_as_json`: `{"error_code", "message"}`, plus `error_class` where MLflow
 * sends one); a 415 on /invocations is plain text, as MLflow's scoring server answers it.
 */
import { InputError } from '../errors.js';

/**
 * MLflow's codes for a 400: BAD_REQUEST when the body cannot be read as one of its formats,
 * INVALID_PARAMETER_VALUE when it was read but does not fit the signature (schema enforcement).
 * The others are for statuses MLflow's scoring server does not produce itself.
 */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'INVALID_PARAMETER_VALUE'
  | 'ENDPOINT_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'PAYLOAD_TOO_LARGE'
  | 'INTERNAL_ERROR';

export interface RequestErrorOptions {
  readonly errorClass?: string;
  /** Answer with the message as text/plain instead of the JSON error shape (MLflow's 415s). */
  readonly plainText?: boolean;
  /** Extra response headers (`Allow` on a 405). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly cause?: unknown;
}

/** A request the server refuses, with the HTTP status and the MLflow error code it answers with. */
export class RequestError extends InputError {
  readonly status: number;
  readonly errorCode: ErrorCode;
  readonly errorClass: string | undefined;
  readonly plainText: boolean;
  readonly headers: Readonly<Record<string, string>>;

  constructor(status: number, errorCode: ErrorCode, message: string, options: RequestErrorOptions = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.status = status;
    this.errorCode = errorCode;
    this.errorClass = options.errorClass;
    this.plainText = options.plainText ?? false;
    this.headers = options.headers ?? {};
  }
}

/** A 400 for a body MLflow could not parse (its MlflowInvalidInputException: BAD_REQUEST). */
export const badRequest = (message: string, cause?: unknown): RequestError =>
  new RequestError(400, 'BAD_REQUEST', message, cause === undefined ? {} : { cause });

/** A 400 for parsed input that does not fit the model's signature (MLflow's schema enforcement). */
export const schemaMismatch = (message: string): RequestError =>
  new RequestError(400, 'INVALID_PARAMETER_VALUE', message, { errorClass: 'SCHEMA_ENFORCEMENT_FAILED' });

/** The response body of an error: MLflow's JSON shape, or its text for plain-text answers. */
export function errorBody(error: RequestError): { readonly contentType: string; readonly body: string } {
  if (error.plainText) return { contentType: 'text/plain; charset=utf-8', body: error.message };
  const json: Record<string, string> = { error_code: error.errorCode, message: error.message };
  if (error.errorClass !== undefined) json['error_class'] = error.errorClass;
  return { contentType: 'application/json', body: JSON.stringify(json) };
}
