import { z } from 'zod';
import { ParamError, describeValue } from '../../errors.js';
import { expectationOf } from './fields.js';
import type { RawParams } from './train.js';

/**
 * Parses raw string parameters against a strict object schema. The first problem becomes a
 * ParamError naming the parameter, the value given and what is accepted; unknown names are listed
 * with the known ones.
 */
export function parseParams<S extends z.ZodObject>(schema: S, raw: RawParams): z.infer<S> {
  const known = Object.keys(schema.shape);
  const unknown = Object.keys(raw).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    const name = unknown[0] ?? '';
    throw new ParamError(
      name,
      `Unknown parameter "${name}"${unknown.length > 1 ? ` (and ${unknown.slice(1).join(', ')})` : ''}; expected one of: ${known.join(', ')}`,
    );
  }
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const name = String(issue?.path[0] ?? '');
  const field = schema.shape[name];
  const expected = field instanceof z.ZodType ? expectationOf(field) : undefined;
  throw new ParamError(
    name,
    `Parameter "${name}" must be ${expected ?? 'valid'}, got ${describeValue(raw[name])}`,
    { cause: result.error },
  );
}
