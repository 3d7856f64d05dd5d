/**
 * `transferkit serve`'s parameters, parsed like every entry point's (strings from flags, zod schema,
 * errors naming the parameter, the value and what is accepted). `model` has no default: the entry
 * refuses to start without it.
 */
import { z } from 'zod';
import { float, int, optionalText, text } from '../pipeline/params/fields.js';

export const MODEL_EXPECTED = 'a model folder written by transferkit, runs:/<run id>/model or models:/<name>/<version>';

export const serveParamsSchema = z.strictObject({
  model: optionalText(MODEL_EXPECTED),
  host: text('127.0.0.1', 'a host name or IP address to listen on'),
  port: int(0, 65_535, 5000),
  max_body_mb: float(0, 4096, 20, true),
  top_k: int(1, 1000, 5),
  /** Most images run through the model at once; a request with more runs in several passes. */
  max_batch: int(1, 4096, 32),
});

export type ServeParams = z.infer<typeof serveParamsSchema>;

/** What each parameter means, for --help and docs/parameters.md. */
export const serveParamDocs: Readonly<Record<keyof typeof serveParamsSchema.shape, string>> = {
  model: 'The model to serve (required): a model folder written by train, runs:/<run id>/model or models:/<name>/<version> (looked up on MLFLOW_TRACKING_URI).',
  host: 'Address to listen on (0.0.0.0 for every interface).',
  port: 'Port to listen on (0 = any free port, said in the log).',
  max_body_mb: 'Largest request body accepted, in MB; larger requests get HTTP 413.',
  top_k: 'Classes returned per image by POST /predict-image.',
  max_batch: 'Most images run through the model at once; requests are micro-batched up to this.',
};
