/**
 * `POST /invocations` bodies, read as MLflow 3.17's scoring server reads them
 * (mlflow/pyfunc/scoring_server/__init__.py: `invocations`, `_split_data_and_params`,
 * `infer_and_parse_data`; mlflow/utils/proto_json_utils.py: `parse_tf_serving_input`,
 * `dataframe_from_parsed_json`) for a model whose signature is one unnamed float32 tensor
 * [-1, H, W, 3]:
 * - Content-Type `application/json`, whose only parameter may be `charset`, and only `utf-8`
 *   (415 otherwise, as text). MLflow's CSV and parquet readers cannot carry this tensor: 415 here.
 * - A JSON object with exactly one of `dataframe_split`, `dataframe_records`, `instances`, `inputs`;
 *   `params` is ignored (the model has no params schema, so MLflow drops them with a warning), and
 *   so is any other key, except the unified-LLM keys `messages`, `prompt`, `input`, which make
 *   MLflow pass the whole body to the model, where it fails the signature.
 */
import { z } from 'zod';
import { RequestError, badRequest, schemaMismatch } from './http-error.js';
import { flatCellImages, nestedImages, type ImageShape, type Images } from './tensor-input.js';

export const JSON_CONTENT_TYPE = 'application/json';
export const FORMATS = ['dataframe_split', 'dataframe_records', 'instances', 'inputs'] as const;
export type Format = (typeof FORMATS)[number];
const LLM_KEYS = ['messages', 'prompt', 'input'];
const pyList = (items: readonly string[]): string => `[${items.map((k) => `'${k}'`).join(', ')}]`;
const REQUIRED = `The input must be a JSON dictionary with exactly one of the input fields ${pyList(FORMATS)}`;
const MLFLOW_ONLY = "(MLflow's scoring server also reads text/csv and parquet, which cannot carry this model's image tensors)";

/** Refuses what MLflow's `invocations` refuses with a 415, before the body is read. */
export function checkContentType(header: string | undefined): void {
  if (header === undefined || header.trim() === '') {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `This predictor only supports the following content types: Types: ${pyList([JSON_CONTENT_TYPE])}. Got no Content-Type header ${MLFLOW_ONLY}.`, { plainText: true });
  }
  const [mime = '', ...pairs] = header.split(';').map((part) => part.trim());
  const parameters = new Map(pairs.map((pair) => {
    const eq = pair.indexOf('=');
    return eq === -1 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)];
  }));
  if ((parameters.get('charset') ?? 'utf-8').toLowerCase() !== 'utf-8') {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', 'The scoring server only supports UTF-8', { plainText: true });
  }
  const unexpected = [...parameters.keys()].filter((k) => k !== 'charset');
  if (unexpected.length > 0) {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `Unrecognized content type parameters: ${unexpected.join(', ')}. The only one accepted is charset=utf-8.`, { plainText: true });
  }
  if (mime.toLowerCase() !== JSON_CONTENT_TYPE) {
    throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `This predictor only supports the following content types: Types: ${pyList([JSON_CONTENT_TYPE])}. Got '${header}' ${MLFLOW_ONLY}.`, { plainText: true });
  }
}

/** The body as JSON: UTF-8 (a BOM is dropped), then JSON.parse. */
export function decodeJson(bytes: Uint8Array): unknown {
  const invalid = (detail: string, cause: unknown) => badRequest(`Invalid input. Ensure that input is a valid JSON formatted string. Error: ${detail}`, cause);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (error) {
    throw invalid('the body is not valid UTF-8', error);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid(`${error instanceof Error ? error.message : String(error)} (the body has ${bytes.length} bytes)`, error);
  }
}

export interface ScoringInput extends Images {
  readonly format: Format;
  /** Keys MLflow ignores too (`params`, unknown ones), for the log. */
  readonly ignored: readonly string[];
}

const objectSchema = z.record(z.string(), z.unknown());
const splitSchema = z.strictObject({ data: z.unknown(), columns: z.unknown().optional(), index: z.unknown().optional() });
const recordSchema = z.record(z.string(), z.unknown()).refine((r) => Object.keys(r).length === 1);
const isObject = (v: unknown): boolean => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The images of a parsed JSON body, checked against [-1, H, W, 3]. */
export function scoringImages(body: unknown, shape: ImageShape): ScoringInput {
  if (Array.isArray(body)) throw badRequest(`Invalid input. ${REQUIRED}. Received a list.`);
  const parsed = objectSchema.safeParse(body);
  if (!parsed.success) throw badRequest(`Invalid input. ${REQUIRED}. Received ${body === null ? 'null' : typeof body}.`);
  const keys = Object.keys(parsed.data);
  const llm = keys.filter((k) => LLM_KEYS.includes(k));
  if (llm.length > 0) {
    throw schemaMismatch(`The body has ${pyList(llm)}, which MLflow reads as the unified LLM format; this model takes images: ${REQUIRED}.`);
  }
  const formats = FORMATS.filter((f) => keys.includes(f));
  const [format] = formats;
  if (format === undefined || formats.length > 1) {
    throw badRequest(`${REQUIRED}. Received dictionary with input fields: ${pyList(formats)} (all keys: ${pyList(keys)}).`);
  }
  const value = parsed.data[format];
  const ignored = keys.filter((k) => k !== format);
  switch (format) {
    case 'inputs':
    case 'instances':
      return { ...nestedImages(value, format, shape), format, ignored };
    case 'dataframe_split':
      return { ...splitImages(value, shape), format, ignored };
    case 'dataframe_records':
      return { ...recordImages(value, shape), format, ignored };
  }
}

const got = (v: unknown): string => (Array.isArray(v) ? 'list' : isObject(v) ? 'dictionary' : `type ${v === null ? 'null' : typeof v}`);

/** `{"columns": [c]?, "index": [...]?, "data": [[cell], ...]}`: one column, one image per cell. */
function splitImages(value: unknown, shape: ImageShape): Images {
  if (!isObject(value)) throw badRequest(`Invalid input. Dataframe split format must be a dictionary. Got ${got(value)}.`);
  const keys = Object.keys(objectSchema.parse(value));
  const split = splitSchema.safeParse(value);
  if (!split.success || !keys.includes('data')) {
    throw badRequest(`Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' fields. Got ${pyList(keys)}.`);
  }
  const { data, columns, index } = split.data;
  if (!Array.isArray(data)) throw badRequest(`Invalid input. "dataframe_split.data" must be a list of rows; got ${got(data)}.`);
  if (columns !== undefined && columns !== null && !Array.isArray(columns)) throw badRequest(`Invalid input. "dataframe_split.columns" must be a list of column names; got ${got(columns)}.`);
  const width = data.reduce<number>((w, row) => Math.max(w, Array.isArray(row) ? row.length : 1), 0);
  if (Array.isArray(columns) && data.length > 0 && columns.length !== width) {
    throw badRequest(`Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '${columns.length} columns passed, passed data had ${width} columns'`);
  }
  if (data.length === 0) throw schemaMismatch('Input DataFrame is empty: "dataframe_split.data" has no rows; expected one row per image.');
  const cells = data.map((row, i) => {
    if (!Array.isArray(row) || row.length !== 1) {
      const what = Array.isArray(row) ? `a row of ${row.length} cells` : 'not a list';
      throw schemaMismatch(`"dataframe_split.data[${i}]" is ${what}; this model's signature is one unnamed tensor, so the dataframe must have exactly one column whose cells hold one image each`);
    }
    return row[0];
  });
  if (index !== undefined && index !== null) {
    if (!Array.isArray(index) || index.length !== cells.length) {
      throw badRequest(`Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format. Error: '"index" must be a list with one label per row (${cells.length}); got ${Array.isArray(index) ? `${index.length} labels` : got(index)}'`);
    }
    if (index.filter((label) => label === 0).length !== 1) {
      throw schemaMismatch('"dataframe_split.index" must label exactly one row 0: MLflow\'s scoring server looks the first image up by the label 0 (leave "index" out to number the rows 0, 1, …)');
    }
  }
  return flatCellImages(cells, (i) => `dataframe_split.data[${i}][0]`, shape);
}

/** `[{"<column>": cell}, ...]`: every record with the same one column, one image per cell. */
function recordImages(value: unknown, shape: ImageShape): Images {
  if (!Array.isArray(value)) throw badRequest(`Invalid input. Dataframe records format must be a list of records. Got ${got(value)}.`);
  if (value.length === 0) throw schemaMismatch('Input DataFrame is empty: "dataframe_records" has no records; expected one record per image.');
  let column: string | undefined;
  const cells = value.map((record, i) => {
    const parsed = recordSchema.safeParse(record);
    const name = parsed.success ? Object.keys(parsed.data)[0] : undefined;
    if (!parsed.success || name === undefined || (column !== undefined && name !== column)) {
      throw schemaMismatch(`"dataframe_records[${i}]" must be a record with the one column ${column === undefined ? 'of the dataframe' : `"${column}" like the first`} ({"<column>": image}); this model's signature is one unnamed tensor, so the dataframe must have exactly one column`);
    }
    column = name;
    return parsed.data[name];
  });
  return flatCellImages(cells, (i) => `dataframe_records[${i}].${column ?? ''}`, shape);
}
