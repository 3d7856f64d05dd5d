/** Grid points: expansion, a seeded random subset, canonical point keys and the spec hash. */
import { createHash } from 'node:crypto';
import { ParamError } from '../errors.js';
import { mulberry32 } from '../pipeline/data/sample.js';

export interface Dimension {
  readonly name: string;
  readonly values: readonly string[];
}
/** One point: swept parameter → value (strings, as given). */
export type Point = Readonly<Record<string, string>>;

export const MAX_GRID_POINTS = 10_000;

/** Every combination, first dimension slowest (grid order). */
export function expandGrid(dimensions: readonly Dimension[]): Point[] {
  const size = dimensions.reduce((n, d) => n * d.values.length, 1);
  if (size > MAX_GRID_POINTS) {
    throw new ParamError('grid', `Parameter "grid" has ${size} points; at most ${MAX_GRID_POINTS} are allowed (use fewer values, or "random" on a smaller grid)`);
  }
  let points: Point[] = [{}];
  for (const d of dimensions) points = points.flatMap((p) => d.values.map((v) => ({ ...p, [d.name]: v })));
  return points;
}

/** `name=value` pairs sorted by name, joined by ","; the same point always has the same key. */
export function pointKey(point: Point): string {
  return Object.keys(point)
    .sort()
    .map((k) => `${k}=${point[k] ?? ''}`)
    .join(',');
}

/** The project's seeded PRNG (mulberry32), uniform in [0, 1). */
export const seededRandom = mulberry32;

/** `count` distinct points chosen with the seed, kept in grid order; the whole grid when count ≥ its size. */
export function samplePoints(points: readonly Point[], count: number, seed: number): Point[] {
  if (count >= points.length) return [...points];
  const rand = seededRandom(seed);
  const order = points.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  return order
    .slice(0, count)
    .sort((a, b) => a - b)
    .map((i) => points[i] ?? {});
}

/**
 * What makes two sweeps' points interchangeable: the swept parameters and values, the fixed
 * parameters, the transferkit version and the defaults of every parameter neither sets (a changed
 * default, such as head_solver's, changes what a point runs). Not `random`, `sweep_seed`,
 * `concurrency` or `force`, which choose or schedule points but do not change any point's result.
 */
export function specHash(dimensions: readonly Dimension[], fixed: Readonly<Record<string, string>>, version: string, defaults: Readonly<Record<string, unknown>>): string {
  const sorted = (o: Readonly<Record<string, unknown>>) => Object.keys(o).sort().map((k) => [k, o[k]]);
  const canonical = {
    grid: [...dimensions].sort((a, b) => (a.name < b.name ? -1 : 1)).map((d) => [d.name, [...d.values].sort()]),
    fixed: sorted(fixed),
    version,
    defaults: sorted(defaults),
  };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 16);
}
