/** /invocations bodies without a model: each MLflow body form, wrong shapes, non-numbers, keys, charset. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestError } from '../../src/serve/http-error.js';
import { checkContentType, decodeJson, scoringImages } from '../../src/serve/scoring-request.js';

const shape = { height: 2, width: 2 };
// one 2×2 RGB image, values 1..12 row-major with RGB last
const img = [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]];
const flat = Array.from({ length: 12 }, (_, i) => i + 1);
const img2 = img.map((row) => row.map((px) => px.map((v) => v + 100)));
const flat2 = flat.map((v) => v + 100);

function refused(status: number, code: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof RequestError, `a RequestError, got ${String(e)}`);
    assert.equal(e.status, status, e.message);
    assert.equal(e.errorCode, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}
const bad = (pattern: RegExp) => refused(400, 'BAD_REQUEST', pattern);
const mismatch = (pattern: RegExp) => refused(400, 'INVALID_PARAMETER_VALUE', pattern);
const parse = (body: unknown) => scoringImages(body, shape);
const values = (body: unknown) => Array.from(parse(body).pixels);

describe('Content-Type of /invocations (as MLflow answers it)', () => {
  it('takes application/json with or without charset=utf-8', () => {
    for (const t of ['application/json', 'application/json; charset=utf-8', 'application/json;charset=UTF-8', 'Application/JSON']) assert.doesNotThrow(() => checkContentType(t), t);
  });
  it('refuses another charset with 415 and MLflow\'s text', () => {
    assert.throws(() => checkContentType('application/json; charset=latin-1'), (e: unknown) => e instanceof RequestError && e.status === 415 && e.plainText && e.message === 'The scoring server only supports UTF-8');
  });
  it('refuses other types, a missing header and unknown parameters with 415 naming what is supported', () => {
    assert.throws(() => checkContentType('text/csv'), refused(415, 'UNSUPPORTED_MEDIA_TYPE', /only supports .*\['application\/json'\]\. Got 'text\/csv'/));
    assert.throws(() => checkContentType(undefined), refused(415, 'UNSUPPORTED_MEDIA_TYPE', /\['application\/json'\]\. Got no Content-Type header/));
    assert.throws(() => checkContentType('application/json; format=pandas-split'), refused(415, 'UNSUPPORTED_MEDIA_TYPE', /Unrecognized content type parameters: format/));
  });
});

describe('decoding the JSON body', () => {
  it('reads UTF-8 JSON, with or without a BOM', () => {
    assert.deepEqual(decodeJson(Buffer.from('{"inputs": [1]}')), { inputs: [1] });
    assert.deepEqual(decodeJson(Buffer.from('\uFEFF{"a": 1}')), { a: 1 });
  });
  it('refuses invalid UTF-8 and invalid JSON (NaN literals included) as BAD_REQUEST', () => {
    assert.throws(() => decodeJson(Buffer.from([0x7b, 0xff, 0x7d])), bad(/not valid UTF-8/));
    assert.throws(() => decodeJson(Buffer.from('{nope')), bad(/^Invalid input\. Ensure that input is a valid JSON formatted string/));
    assert.throws(() => decodeJson(Buffer.from('{"inputs": [NaN]}')), bad(/valid JSON/));
  });
});

describe('the body forms MLflow takes for an unnamed tensor [-1, H, W, 3]', () => {
  it('inputs and instances: nested images [n][H][W][3], ints or floats, row-major', () => {
    assert.deepEqual(values({ inputs: [img, img2] }), [...flat, ...flat2]);
    assert.deepEqual(values({ instances: [img] }), flat);
    assert.equal(parse({ instances: [img, img2, img] }).n, 3);
    assert.deepEqual(values({ inputs: [img.map((r) => r.map((p) => p.map((v) => v + 0.5)))] }), flat.map((v) => v + 0.5));
  });
  it('dataframe_split: one column whose cells are flat images, with columns and index or without', () => {
    assert.deepEqual(values({ dataframe_split: { columns: ['image'], data: [[flat], [flat2]] } }), [...flat, ...flat2]);
    assert.deepEqual(values({ dataframe_split: { data: [[flat]] } }), flat);
    assert.deepEqual(values({ dataframe_split: { index: [1, 0], columns: null, data: [[flat], [flat2]] } }), [...flat, ...flat2]);
  });
  it('dataframe_records: records of one column, flat images', () => {
    assert.deepEqual(values({ dataframe_records: [{ x: flat }, { x: flat2 }] }), [...flat, ...flat2]);
  });
  it('ignores params and other keys, as MLflow does, and says so', () => {
    const input = parse({ inputs: [img], params: { top_k: 3 }, note: 'hi' });
    assert.deepEqual(Array.from(input.pixels), flat);
    assert.equal(input.format, 'inputs');
    assert.deepEqual(input.ignored, ['params', 'note']);
  });
});

describe('bodies MLflow refuses are refused the same way', () => {
  it('a list, a scalar, no format key, or several: BAD_REQUEST with the fields expected and given', () => {
    assert.throws(() => parse([img]), bad(/exactly one of the input fields .*Received a list/));
    assert.throws(() => parse(5), bad(/JSON dictionary/));
    assert.throws(() => parse({ data: [img] }), bad(/exactly one of the input fields \['dataframe_split', 'dataframe_records', 'instances', 'inputs'\].*input fields: \[\]/));
    assert.throws(() => parse({ inputs: [img], instances: [img] }), bad(/exactly one .*Received dictionary with input fields: \['instances', 'inputs'\]/));
  });
  it('unified-LLM keys are refused (MLflow would pass the body to the model whole)', () => {
    assert.throws(() => parse({ inputs: [img], prompt: 'x' }), mismatch(/\['prompt'\].*unified LLM format/));
  });
  it('a wrong shape: INVALID_PARAMETER_VALUE naming the expected and the given shape', () => {
    assert.throws(() => parse({ inputs: [[[[1, 2, 3], [4, 5, 6]]]] }), mismatch(/Shape of input \(1, 1, 2, 3\) does not match expected shape \(-1, 2, 2, 3\)/));
    assert.throws(() => parse({ inputs: img }), mismatch(/Shape of input \(2, 2, 3\) does not match expected shape \(-1, 2, 2, 3\)/));
    assert.throws(() => parse({ inputs: [img.map((r) => r.map((p) => [...p, 0]))] }), mismatch(/\(1, 2, 2, 4\) does not match expected shape \(-1, 2, 2, 3\)/));
    assert.throws(() => parse({ inputs: [] }), mismatch(/Shape of input \(0,\).*at least one image/));
    assert.throws(() => parse({ inputs: 7 }), mismatch(/Shape of input \(\)/));
    assert.throws(() => parse({ inputs: { x: [img] } }), bad(/"inputs" is an object.*unnamed tensor/));
  });
  it('a ragged list: BAD_REQUEST naming where it breaks', () => {
    assert.throws(() => parse({ inputs: [[[[1, 2, 3], [4, 5]], [[7, 8, 9], [10, 11, 12]]]] }), bad(/inputs\[0\]\[0\]\[1\] is a list of 2, but inputs\[0\]\[0\]\[0\] is a list of 3/));
    assert.throws(() => parse({ instances: [img, [[[1, 2, 3]]]] }), bad(/instances\[1\] is a list of 1/));
  });
  it('NaN-like and non-number values: BAD_REQUEST naming the value and where it is', () => {
    const withValue = (v: unknown) => ({ inputs: [[[[1, 2, 3], [4, v, 6]], [[7, 8, 9], [10, 11, 12]]]] });
    assert.throws(() => parse(withValue(null)), bad(/inputs\[0\]\[0\]\[1\]\[1\] is null; expected a number/));
    assert.throws(() => parse(withValue('5')), bad(/inputs\[0\]\[0\]\[1\]\[1\] is "5" \(string\); expected a number/));
    assert.throws(() => parse(withValue(true)), bad(/is true \(boolean\)/));
    assert.throws(() => parse(withValue(1e39)), bad(/is 1e\+39, which is not a finite float32 value/));
    assert.throws(() => parse(withValue(Number.POSITIVE_INFINITY)), bad(/not a finite float32/));
    assert.throws(() => parse({ inputs: [[{ r: 1 }]] }), bad(/inputs\[0\]\[0\] is an object; expected a number/));
  });
  it('dataframe_split: its keys, one column, flat cells of H·W·3 values, an index MLflow can read', () => {
    assert.throws(() => parse({ dataframe_split: [[flat]] }), bad(/Dataframe split format must be a dictionary\. Got list/));
    assert.throws(() => parse({ dataframe_split: { data: [[flat]], orient: 'split' } }), bad(/must have 'data' field and optionally 'columns' and 'index' fields/));
    assert.throws(() => parse({ dataframe_split: { columns: ['a'] } }), bad(/must have 'data' field/));
    assert.throws(() => parse({ dataframe_split: { columns: ['a', 'b'], data: [[flat]] } }), bad(/2 columns passed, passed data had 1 columns/));
    assert.throws(() => parse({ dataframe_split: { data: [] } }), mismatch(/Input DataFrame is empty/));
    assert.throws(() => parse({ dataframe_split: { data: [[img]] } }), mismatch(/data\[0\]\[0\] is a nested list.*flat list of 2×2×3 = 12 numbers/));
    assert.throws(() => parse({ dataframe_split: { data: [img] } }), mismatch(/data\[0\]" is a row of 2 cells.*exactly one column/));
    assert.throws(() => parse({ dataframe_split: { data: [flat] } }), mismatch(/a row of 12 cells/));
    assert.throws(() => parse({ dataframe_split: { data: [[flat], [flat.slice(6)]] } }), mismatch(/data\[1\]\[0\] has 6 values; expected a flat list of 2×2×3 = 12/));
    assert.throws(() => parse({ dataframe_split: { data: [[5]] } }), mismatch(/data\[0\]\[0\] is 5 \(number\)/));
    assert.throws(() => parse({ dataframe_split: { index: [5, 6], data: [[flat], [flat]] } }), mismatch(/must label exactly one row 0/));
    assert.throws(() => parse({ dataframe_split: { index: [0], data: [[flat], [flat]] } }), bad(/one label per row \(2\); got 1 labels/));
    assert.throws(() => parse({ dataframe_split: { data: [[[null, ...flat.slice(1)]]] } }), bad(/data\[0\]\[0\]\[0\] is null/));
  });
  it('dataframe_records: a list of records with the same one column', () => {
    assert.throws(() => parse({ dataframe_records: { x: [flat] } }), bad(/must be a list of records\. Got dictionary/));
    assert.throws(() => parse({ dataframe_records: [{ x: flat }, { y: flat }] }), mismatch(/dataframe_records\[1\]" must be a record with the one column "x"/));
    assert.throws(() => parse({ dataframe_records: [{ x: flat, y: flat }] }), mismatch(/exactly one column/));
    assert.throws(() => parse({ dataframe_records: [] }), mismatch(/Input DataFrame is empty/));
  });
});
