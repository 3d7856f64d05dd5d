/**
 * Which parameters a run gets. MLflow params are immutable: under `mlflow run` every -P value is
 * already logged, and logging a different text for a key fails. So only keys the run does not have
 * yet are logged, and never in another spelling (no "0.001" for "1e-3").
 */
import type { RawParams } from '../pipeline/params/train.js';

/** The parameters as the user gave them; absent ones as their default's text. */
export function paramsAsGiven(raw: RawParams, defaults: Readonly<Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(defaults)) {
    const given = raw[key];
    out[key] = given ?? (value === undefined ? '' : String(value));
  }
  return out;
}

/** Entries of `wanted` whose keys `existing` does not have. */
export function newParams(
  wanted: Readonly<Record<string, string>>,
  existing: Readonly<Record<string, string>>,
): Record<string, string> {
  return Object.fromEntries(Object.entries(wanted).filter(([key]) => !(key in existing)));
}
