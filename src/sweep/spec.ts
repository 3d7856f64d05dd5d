/**
 * `transferkit sweep` parameters → a validated SweepSpec. Everything a child would reject is
 * rejected here, before any child starts: each point's full parameter set goes through the same
 * zod schema and `parseParams` as `train`.
 *
 *   grid   "retrained_conv_layers=0,1,2;samples_per_class=30,100"   (";" between parameters, "," between values)
 *   fixed  "max_epochs=5;backbone=small-cnn"                         (";" between parameters; values may hold ",")
 * Train parameters given as plain flags (`--max_epochs 5`, as MLflow passes undeclared -P) are fixed too.
 */
import { z } from 'zod';
import { ParamError, describeValue } from '../errors.js';
import { flag, int, optionalText, text } from '../pipeline/params/fields.js';
import { parseParams } from '../pipeline/params/parse.js';
import { trainParamsSchema, type RawParams } from '../pipeline/params/train.js';
import { expandGrid, pointKey, samplePoints, type Dimension, type Point } from './grid.js';

export const GRID_EXAMPLE = 'retrained_conv_layers=0,1,2;samples_per_class=30,100';

export const sweepParamsSchema = z.strictObject({
  grid: optionalText(`parameters and their values, e.g. "${GRID_EXAMPLE}"`),
  fixed: optionalText('train parameters shared by every point, e.g. "max_epochs=5;backbone=small-cnn"'),
  random: int(0, 1_000_000, 0),
  sweep_seed: int(0, 2_147_483_647, 0),
  concurrency: text('auto', '"auto" or a whole number from 1 to 64'),
  force: flag(false),
});
export type SweepParams = z.infer<typeof sweepParamsSchema>;

/** What each parameter means, for --help and docs/parameters.md. Any train parameter is also taken, fixed for every point. */
export const sweepParamDocs: Readonly<Record<keyof typeof sweepParamsSchema.shape, string>> = {
  grid: 'The swept parameters: name=v1,v2,... per train parameter, ";" between parameters. Every combination is a point, run as a child MLflow run.',
  fixed: 'Train parameters shared by every point, ";" between them (values may hold ","). Train parameters given directly (--max_epochs 5, -P max_epochs=5) are fixed too.',
  random: '0 runs the whole grid; N runs N points of it, drawn with sweep_seed.',
  sweep_seed: 'Seed of the random choice of points.',
  concurrency: 'Children at once; "auto" = one per core, at most one per `3 GB` of memory.',
  force: '0 skips points a finished child run with the same spec already ran; 1 runs them again.',
};

export interface SweepSpec {
  readonly dimensions: readonly Dimension[];
  /** Train parameters every point shares, as given (strings). */
  readonly fixed: Readonly<Record<string, string>>;
  /** All points of the grid, in grid order. */
  readonly gridSize: number;
  /** The points to run: the whole grid, or `random` of them. */
  readonly points: readonly Point[];
  /** "auto" resolved by the caller's default. */
  readonly concurrency: number;
  readonly force: boolean;
  readonly random: number;
  readonly seed: number;
}

const TRAIN_NAMES = Object.keys(trainParamsSchema.shape);
const SWEEP_NAMES = Object.keys(sweepParamsSchema.shape);

function checkTrainName(name: string, where: string): void {
  if (TRAIN_NAMES.includes(name)) return;
  throw new ParamError(
    name,
    `Unknown parameter "${name}" in ${where}; expected one of the train parameters: ${TRAIN_NAMES.join(', ')}`,
  );
}

/** "a=1;b=x,y" → entries; `splitValues` splits each value on ",". Empty parts between ";" are ignored. */
function entries(text: string, param: 'grid' | 'fixed'): Array<[string, string]> {
  return text
    .split(';')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      const name = eq === -1 ? '' : part.slice(0, eq).trim();
      if (eq === -1 || name === '') {
        throw new ParamError(param, `Parameter "${param}" has ${describeValue(part)}, expected name=value${param === 'grid' ? 's' : ''} as in "${param === 'grid' ? GRID_EXAMPLE : 'max_epochs=5;backbone=small-cnn'}"`);
      }
      return [name, part.slice(eq + 1).trim()];
    });
}

export function parseGrid(text: string | undefined): Dimension[] {
  const dims = entries(text ?? '', 'grid').map(([name, list]): Dimension => {
    checkTrainName(name, 'grid');
    const values = list.split(',').map((v) => v.trim());
    if (values.some((v) => v === '')) {
      throw new ParamError(name, `Grid parameter "${name}" has an empty value in ${describeValue(list)}; expected values separated by ","`);
    }
    const dup = values.find((v, i) => values.indexOf(v) !== i);
    if (dup !== undefined) throw new ParamError(name, `Grid parameter "${name}" lists the value ${describeValue(dup)} twice`);
    return { name, values };
  });
  if (dims.length === 0) {
    throw new ParamError('grid', `Parameter "grid" is empty (got ${describeValue(text ?? '')}); expected at least one parameter with values, e.g. "${GRID_EXAMPLE}"`);
  }
  const names = dims.map((d) => d.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new ParamError(twice, `Grid parameter "${twice}" appears twice in ${describeValue(text)}`);
  return dims;
}

/** Splits flags into the sweep's own parameters and train parameters given as fixed values. */
export function splitRaw(raw: RawParams): { sweep: RawParams; extras: Record<string, string> } {
  const sweep: Record<string, string | undefined> = {};
  const extras: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (SWEEP_NAMES.includes(name)) sweep[name] = value;
    else if (TRAIN_NAMES.includes(name)) extras[name] = value ?? '';
    else {
      throw new ParamError(name, `Unknown parameter "${name}"; expected a sweep parameter (${SWEEP_NAMES.join(', ')}) or a train parameter (${TRAIN_NAMES.join(', ')})`);
    }
  }
  return { sweep, extras };
}

function checkPoint(point: Point, fixed: Readonly<Record<string, string>>): void {
  try {
    parseParams(trainParamsSchema, { ...fixed, ...point });
  } catch (error) {
    if (!(error instanceof ParamError)) throw error;
    throw new ParamError(error.param, `Sweep point ${pointKey(point)}: ${error.message}`, { cause: error });
  }
}

export function buildSpec(raw: RawParams, defaultConcurrency: number): SweepSpec {
  const { sweep, extras } = splitRaw(raw);
  const params = parseParams(sweepParamsSchema, sweep);
  const fixed: Record<string, string> = { ...extras };
  for (const [name, value] of entries(params.fixed ?? '', 'fixed')) {
    checkTrainName(name, 'fixed');
    if (name in fixed && fixed[name] !== value) {
      throw new ParamError(name, `Parameter "${name}" is fixed twice, as ${describeValue(fixed[name])} and ${describeValue(value)}`);
    }
    fixed[name] = value;
  }
  if ((fixed['output_dir'] ?? '') !== '') {
    throw new ParamError('output_dir', `Parameter "output_dir" cannot be fixed for a sweep (got ${describeValue(fixed['output_dir'])}): every point would write into the same folder; each point writes to out/<its run id> unless output_dir is swept`);
  }
  const dimensions = parseGrid(params.grid);
  for (const d of dimensions) {
    if (d.name in fixed) {
      throw new ParamError(d.name, `Parameter "${d.name}" is both fixed (${describeValue(fixed[d.name])}) and swept (${d.values.join(',')}); give it in one place only`);
    }
  }
  checkPoint({}, fixed);
  for (const d of dimensions) for (const v of d.values) checkPoint({ [d.name]: v }, fixed);
  const concurrency = parseConcurrency(params.concurrency, defaultConcurrency);
  const all = expandGrid(dimensions);
  const points = params.random === 0 ? all : samplePoints(all, params.random, params.sweep_seed);
  for (const p of points) checkPoint(p, fixed);
  return { dimensions, fixed, gridSize: all.length, points, concurrency, force: params.force, random: params.random, seed: params.sweep_seed };
}

export function parseConcurrency(text: string, fallback: number): number {
  if (text.toLowerCase() === 'auto') return fallback;
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new ParamError('concurrency', `Parameter "concurrency" must be "auto" or a whole number from 1 to 64, got ${describeValue(text)}`);
  }
  return n;
}
