/**
 * Field builders for parameters that arrive as strings (MLflow `-P`, CLI flags). Each field knows
 * how to describe what it expects, so errors can say: the parameter, the value, what was expected.
 * MLflow checks nothing for int/float params, and `z.coerce.number()` would turn "" into 0, so every
 * number is parsed explicitly from its text.
 */
import { z } from 'zod';
import { checkRegisteredModelName } from '../../mlflow/models.js';

/**
 * What a field accepts, in words (for error messages, --help and docs/parameters.md), and its
 * default as MLproject writes it (undefined: required). Stored beside the schema.
 */
export interface FieldInfo {
  readonly expected: string;
  readonly defaultText: string | undefined;
}

const fieldInfos = new WeakMap<z.ZodType, FieldInfo>();

export function expectationOf(schema: z.ZodType): string | undefined {
  return fieldInfos.get(schema)?.expected;
}

export function fieldInfo(schema: z.ZodType): FieldInfo | undefined {
  return fieldInfos.get(schema);
}

function described<T extends z.ZodType>(schema: T, expected: string, defaultText: string | undefined): T {
  fieldInfos.set(schema, { expected, defaultText });
  return schema;
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function wholeNumber(text: string, min: number, max: number): number | undefined {
  if (!INT.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && n >= min && n <= max ? n : undefined;
}

/** A whole number in [min, max]; `fallback` is used when the parameter is absent. */
export function int(min: number, max: number, fallback: number) {
  return described(
    z.string().trim().optional().transform((text, ctx) => {
      if (text === undefined) return fallback;
      const n = wholeNumber(text, min, max);
      if (n === undefined) ctx.addIssue({ code: 'custom', message: 'out of range' });
      return n ?? fallback;
    }),
    `a whole number from ${min} to ${max}`,
    String(fallback),
  );
}

/** A whole number in [min, max], or the word `all` (returned as 'all'). */
export function intOrAll(min: number, max: number, fallback: number | 'all') {
  return described(
    z.string().trim().optional().transform((text, ctx): number | 'all' => {
      if (text === undefined) return fallback;
      if (text.toLowerCase() === 'all') return 'all';
      const n = wholeNumber(text, min, max);
      if (n === undefined) ctx.addIssue({ code: 'custom', message: 'out of range' });
      return n ?? fallback;
    }),
    `a whole number from ${min} to ${max}, or "all"`,
    String(fallback),
  );
}

/** A finite decimal number in [min, max] (or (min, max] when `exclusiveMin`). */
export function float(min: number, max: number, fallback: number, exclusiveMin = false) {
  const lower = exclusiveMin ? `greater than ${min}` : `from ${min}`;
  return described(
    z.string().trim().optional().transform((text, ctx) => {
      if (text === undefined) return fallback;
      const n = FLOAT.test(text) ? Number(text) : Number.NaN;
      const ok = Number.isFinite(n) && (exclusiveMin ? n > min : n >= min) && n <= max;
      if (!ok) ctx.addIssue({ code: 'custom', message: 'out of range' });
      return ok ? n : fallback;
    }),
    `a number ${lower} up to ${max}`,
    String(fallback),
  );
}

/** A flag given as 0/1 as in the seed, or true/false/yes/no. */
export function flag(fallback: boolean) {
  return described(
    z.string().trim().optional().transform((text, ctx) => {
      if (text === undefined) return fallback;
      const t = text.toLowerCase();
      if (['1', 'true', 'yes'].includes(t)) return true;
      if (['0', 'false', 'no'].includes(t)) return false;
      ctx.addIssue({ code: 'custom', message: 'not a flag' });
      return fallback;
    }),
    '0 or 1 (also true/false)',
    fallback ? '1' : '0',
  );
}

/** One of a fixed list of words. */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return described(
    z.string().trim().optional().transform((text, ctx): T[number] => {
      if (text === undefined) return fallback;
      const hit = values.find((v) => v === text.toLowerCase());
      if (hit === undefined) ctx.addIssue({ code: 'custom', message: 'not one of' });
      return hit ?? fallback;
    }),
    `one of ${values.map((v) => `"${v}"`).join(', ')}`,
    fallback,
  );
}

/** Free text; empty means absent (MLflow needs a default for every parameter, so "" stands for none). */
export function optionalText(expected: string) {
  return described(
    z.string().trim().optional().transform((text) => (text === undefined || text === '' ? undefined : text)),
    expected,
    '',
  );
}

/** Text that must be given (no default): absent or empty is an error naming the parameter. */
export function requiredText(expected: string) {
  return described(z.string().trim().min(1), expected, undefined);
}

/** A name for the MLflow Model Registry, or empty for none; names MLflow would refuse are errors. */
export function registeredModelName() {
  return described(
    z.string().trim().optional().transform((text, ctx) => {
      if (text === undefined || text === '') return undefined;
      if (checkRegisteredModelName(text) !== undefined) ctx.addIssue({ code: 'custom', message: 'not a model name' });
      return text;
    }),
    'empty (no registration) or a registered model name without "/", ":" or "%", not starting with ".." (e.g. "flowers-classifier")',
    '',
  );
}

/** Text with a default. Empty is an error: the parameter has no meaning without a value. */
export function text(fallback: string, expected: string) {
  return described(
    z.string().trim().optional().transform((t, ctx) => {
      if (t === undefined) return fallback;
      if (t === '') ctx.addIssue({ code: 'custom', message: 'empty' });
      return t === '' ? fallback : t;
    }),
    expected,
    fallback,
  );
}

export const AUGMENTATIONS = ['flip', 'crop'] as const;
export type Augmentation = (typeof AUGMENTATIONS)[number];

/** `none`, or a comma-separated set of augmentations (`flip`, `crop`, `flip,crop`). */
export function augmentations() {
  return described(
    z.string().trim().optional().transform((text, ctx): readonly Augmentation[] => {
      if (text === undefined || text.toLowerCase() === 'none' || text === '') return [];
      const words = text.toLowerCase().split(',').map((w) => w.trim());
      const known = words.filter((w): w is Augmentation => (AUGMENTATIONS as readonly string[]).includes(w));
      if (known.length !== words.length) ctx.addIssue({ code: 'custom', message: 'unknown augmentation' });
      return AUGMENTATIONS.filter((a) => known.includes(a));
    }),
    `"none" or a comma-separated list of ${AUGMENTATIONS.map((a) => `"${a}"`).join(', ')}`,
    'none',
  );
}

/** `auto` (continue a matching checkpoint), `never` (start over), or an MLflow run id to resume. */
export function resumeSpec() {
  return described(
    z.string().trim().optional().transform((text, ctx): string => {
      if (text === undefined || text === '') return 'auto';
      const t = text.toLowerCase();
      if (t === 'auto' || t === 'never' || /^[0-9a-f]{32}$/.test(t)) return t;
      ctx.addIssue({ code: 'custom', message: 'not a resume value' });
      return 'auto';
    }),
    '"auto", "never", or the 32-character id of the MLflow run to resume',
    'auto',
  );
}
