/**
 * JSON arrays → raw RGB pixels for the model's one unnamed tensor input, float32 [-1, H, W, 3].
 * What MLflow 3.17's scoring server accepts for such a signature (mlflow/utils/proto_json_utils.py
 * `_cast_schema_type` → `np.array(data, dtype=float32)`; mlflow/models/utils.py
 * `_enforce_tensor_spec`, `_reshape_and_cast_pandas_column_values`), and no more:
 * - nested images `[n][H][W][3]` (`inputs`, `instances`): rectangular, exactly that shape;
 * - one image per dataframe cell as a FLAT list of H·W·3 values, row-major with RGB last
 *   (`dataframe_split`, `dataframe_records`): MLflow reshapes the stacked cells to [-1, H, W, 3]
 *   and refuses cells that are nested lists.
 * Every value must be a JSON number that is finite as a float32. MLflow also casts numeric strings,
 * booleans and null (to NaN); those are refused here, naming where they are.
 * Errors: BAD_REQUEST for what numpy cannot make an array of (ragged lists, non-numbers), and
 * INVALID_PARAMETER_VALUE for a well-formed array of the wrong shape, as MLflow answers them.
 */
import { describeValue } from '../errors.js';
import { badRequest, schemaMismatch } from './http-error.js';

export interface ImageShape {
  readonly height: number;
  readonly width: number;
}

/** `n` images as `n × H × W × 3` float32 values, row-major. */
export interface Images {
  readonly pixels: Float32Array;
  readonly n: number;
}

const CHANNELS = 3;
const isRecord = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A shape as numpy prints it: `(2, 16, 16, 3)`, `(5,)`, `()`. */
export const pyShape = (dims: readonly number[]): string => `(${dims.join(', ')}${dims.length === 1 ? ',' : ''})`;

const expectedShape = (s: ImageShape): string => pyShape([-1, s.height, s.width, CHANNELS]);
const at = (where: string, path: readonly number[]): string => `${where}${path.map((i) => `[${i}]`).join('')}`;

/** One pixel value as float32; anything but a finite number is refused, naming where it is. */
function pixelValue(v: unknown, where: string, path: readonly number[]): number {
  if (typeof v !== 'number') {
    const what = Array.isArray(v) ? 'a list' : v !== null && typeof v === 'object' ? 'an object' : describeValue(v);
    throw badRequest(`${at(where, path)} is ${what}; expected a number (a raw RGB value, 0 to 255)`);
  }
  const f = Math.fround(v);
  if (!Number.isFinite(f)) throw badRequest(`${at(where, path)} is ${v}, which is not a finite float32 value; expected a raw RGB value, 0 to 255`);
  return f;
}

/** The dimensions along the first element at every depth (numpy's view of a rectangular list). */
function leadingDims(value: unknown): number[] {
  const dims: number[] = [];
  let v = value;
  while (Array.isArray(v)) {
    dims.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return dims;
}

/**
 * Checks that `value` is rectangular with `dims` and holds numbers; writes them to `out` when
 * given. A ragged list is a BAD_REQUEST (numpy: "inhomogeneous shape").
 */
function walk(value: unknown, dims: readonly number[], where: string, out: Float32Array | undefined): void {
  const path: number[] = [];
  let offset = 0;
  const visit = (v: unknown, depth: number): void => {
    if (depth === dims.length) {
      const f = pixelValue(v, where, path);
      if (out !== undefined) out[offset] = f;
      offset++;
      return;
    }
    const size = dims[depth] ?? 0;
    if (!Array.isArray(v) || v.length !== size) {
      const got = Array.isArray(v) ? `a list of ${v.length}` : describeValue(v);
      throw badRequest(`${at(where, path)} is ${got}, but ${at(where, path.map(() => 0))} is a list of ${size}: "${where}" is not a rectangular array (expected shape ${pyShape(dims)} from its first elements)`);
    }
    for (let i = 0; i < v.length; i++) {
      path.push(i);
      visit(v[i], depth + 1);
      path.pop();
    }
  };
  visit(value, 0);
}

/** `inputs` / `instances`: a list of images `[n][H][W][3]`. */
export function nestedImages(value: unknown, where: string, shape: ImageShape): Images {
  if (isRecord(value)) {
    throw badRequest(`"${where}" is an object; this model's signature is one unnamed tensor ${expectedShape(shape)}, so "${where}" must be a list of images [n][${shape.height}][${shape.width}][3]`);
  }
  if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
    throw schemaMismatch(`"${where}" is a list of records ({"name": tensor}), which is for signatures with named inputs; this model's one input is an unnamed tensor ${expectedShape(shape)}: send a list of images [n][${shape.height}][${shape.width}][3]`);
  }
  const dims = leadingDims(value);
  const fits = dims.length === 4 && dims[1] === shape.height && dims[2] === shape.width && dims[3] === CHANNELS && (dims[0] ?? 0) > 0;
  if (!fits) {
    // a ragged list or a non-number is reported as such first, as numpy does
    if (Array.isArray(value)) walk(value, dims, where, undefined);
    else pixelValue(value, where, []);
    const got = dims.length === 0 ? describeValue(value) : `shape ${pyShape(dims)}`;
    throw schemaMismatch(
      `Shape of input ${pyShape(dims)} does not match expected shape ${expectedShape(shape)}: "${where}" must be a list of at least one image of ${shape.height}×${shape.width} pixels × 3 channels (RGB), i.e. [n][${shape.height}][${shape.width}][3]; got ${got}`,
    );
  }
  const n = dims[0] ?? 0;
  const pixels = new Float32Array(n * shape.height * shape.width * CHANNELS);
  walk(value, dims, where, pixels);
  return { pixels, n };
}

/**
 * Dataframe cells, one image each as a flat list of H·W·3 numbers (what MLflow's
 * `_reshape_and_cast_pandas_column_values` stacks and reshapes to [-1, H, W, 3]).
 */
export function flatCellImages(cells: readonly unknown[], where: (i: number) => string, shape: ImageShape): Images {
  const per = shape.height * shape.width * CHANNELS;
  const pixels = new Float32Array(cells.length * per);
  const layout = `a flat list of ${shape.height}×${shape.width}×3 = ${per} numbers (row-major, RGB last)`;
  cells.forEach((cell, i) => {
    if (!Array.isArray(cell)) {
      throw schemaMismatch(`${where(i)} is ${describeValue(cell)}; with the signature ${expectedShape(shape)} each dataframe cell must hold one image as ${layout}`);
    }
    if (Array.isArray(cell[0])) {
      throw schemaMismatch(
        `${where(i)} is a nested list; MLflow's scoring server takes a dataframe cell only as ${layout}, never nested: flatten each image, or send nested images [n][${shape.height}][${shape.width}][3] as "inputs"`,
      );
    }
    if (cell.length !== per) {
      throw schemaMismatch(`The value in the input DataFrame column could not be converted to the expected shape of ${expectedShape(shape)}: ${where(i)} has ${cell.length} values; expected ${layout}`);
    }
    for (let k = 0; k < per; k++) pixels[i * per + k] = pixelValue(cell[k], where(i), [k]);
  });
  return { pixels, n: cells.length };
}
