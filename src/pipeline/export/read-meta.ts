/**
 * Reads a model folder's transferkit.json. `fail` makes the caller's error (a WeightsError when the
 * folder is a base for training, a ModelError when it is used for predictions), so each names what
 * the user asked for.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { META_FILE, modelMetaSchema, type ModelMeta } from './meta.js';

export type MetaFailure = (message: string, cause?: unknown) => Error;

export async function readModelMeta(dir: string, fail: MetaFailure): Promise<ModelMeta> {
  const file = join(dir, META_FILE);
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const missing = error instanceof Error && 'code' in error && error.code === 'ENOENT';
    throw fail(`${file} is ${missing ? 'missing' : 'not valid JSON'}; expected the ${META_FILE} of a model folder written by transferkit`, error);
  }
  const parsed = modelMetaSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw fail(`${file} is not a transferkit model description: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
