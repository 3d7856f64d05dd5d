/**
 * The same request bodies through MLflow's own scoring code (mlflow.pyfunc.scoring_server
 * `invocations`, in the venv, for a pyfunc model with the signature an exported model has: one
 * unnamed float32 tensor [-1, H, W, 3]) and through ours. What we accept, MLflow accepts with the same
 * float32 values; what MLflow refuses, we refuse with the same status and error code. The only bodies
 * MLflow takes and we refuse are the ones documented in tensor-input.ts (null, booleans, numeric
 * strings, NaN literals: not pixel values).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { RequestError } from '../../src/serve/http-error.js';
import { checkContentType, decodeJson, scoringImages } from '../../src/serve/scoring-request.js';
import { venvPython } from '../support/python.js';

const H = 2;
const W = 2;
const img = [[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]];
const flat = img.flat(2);
const withValue = (v: unknown) => ({ inputs: [[[[1, 2, 3], [4, v, 6]], [[7, 8, 9], [10, 11, 12]]]] });

/** [name, body (JSON-encoded unless a string), content type]. */
const CASES: Array<[string, unknown, string?]> = [
  ['inputs', { inputs: [img, img] }],
  ['instances', { instances: [img] }],
  ['floats', { inputs: [img.map((r) => r.map((p) => p.map((v) => v / 3)))] }],
  ['params and other keys ignored', { inputs: [img], params: { k: 1 }, note: 'x' }],
  ['two formats', { inputs: [img], instances: [img] }],
  ['no format', { data: [img] }],
  ['a list', [img]],
  ['not JSON', '{nope'],
  ['single image', { inputs: img }],
  ['wrong H', { inputs: [[[[1, 2, 3], [4, 5, 6]]]] }],
  ['four channels', { inputs: [img.map((r) => r.map((p) => [...p, 0]))] }],
  ['ragged', { inputs: [[[[1, 2, 3], [4, 5]], [[7, 8, 9], [10, 11, 12]]]] }],
  ['string value', withValue('x')],
  ['empty', { inputs: [] }],
  ['object', { inputs: { x: [img] } }],
  ['scalar', { inputs: 5 }],
  ['instances of records', { instances: [{ x: img }] }],
  ['LLM key', { inputs: [img], prompt: 'x' }],
  ['split flat cells', { dataframe_split: { columns: ['x'], data: [[flat], [flat]] } }],
  ['split no columns', { dataframe_split: { data: [[flat]] } }],
  ['split index 0, 1', { dataframe_split: { index: [0, 1], data: [[flat], [flat]] } }],
  ['split index 5, 6', { dataframe_split: { index: [5, 6], data: [[flat], [flat]] } }],
  ['split nested cells', { dataframe_split: { columns: ['x'], data: [[img]] } }],
  ['split rows of images', { dataframe_split: { data: [img] } }],
  ['split flat rows', { dataframe_split: { data: [flat] } }],
  ['split short cell', { dataframe_split: { data: [[flat.slice(0, 6)]] } }],
  ['split double cell', { dataframe_split: { data: [[[...flat, ...flat]]] } }],
  ['split ragged cells', { dataframe_split: { data: [[flat], [flat.slice(0, 6)]] } }],
  ['split extra key', { dataframe_split: { data: [[flat]], foo: 1 } }],
  ['split as list', { dataframe_split: [[flat]] }],
  ['split two columns', { dataframe_split: { columns: ['a', 'b'], data: [[flat, flat]] } }],
  ['split columns mismatch', { dataframe_split: { columns: ['a', 'b'], data: [[flat]] } }],
  ['split empty', { dataframe_split: { data: [] } }],
  ['records', { dataframe_records: [{ x: flat }, { x: flat }] }],
  ['records as dict', { dataframe_records: { x: [flat] } }],
  ['charset latin-1', { inputs: [img] }, 'application/json; charset=latin-1'],
  ['charset UTF-8', { inputs: [img] }, 'application/json; charset=UTF-8'],
  ['content type parameter', { inputs: [img] }, 'application/json; format=pandas-split'],
  ['text/plain', { inputs: [img] }, 'text/plain'],
  // MLflow casts these; they are not pixel values, so we refuse them (documented in tensor-input.ts)
  ['null value', withValue(null)],
  ['boolean value', withValue(true)],
  ['numeric string', withValue('1.5')],
  ['NaN literal', '{"inputs": [[[[NaN, 2, 3], [4, 5, 6]], [[7, 8, 9], [10, 11, 12]]]]}'],
];
const STRICTER = ['null value', 'boolean value', 'numeric string', 'NaN literal'];

const SCRIPT = `
import json, os, sys, tempfile, logging, warnings
logging.disable(logging.CRITICAL); warnings.filterwarnings("ignore")
import numpy as np, mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types.schema import Schema, TensorSpec
from mlflow.pyfunc.scoring_server import invocations

class Echo(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        a = np.asarray(model_input)
        return a.reshape(a.shape[0], -1)

path = os.path.join(tempfile.mkdtemp(), "m")
sig = ModelSignature(inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, ${H}, ${W}, 3))]))
mlflow.pyfunc.save_model(path, python_model=Echo(), signature=sig)
model = mlflow.pyfunc.load_model(path)
out = []
for name, body, ctype in json.loads(sys.stdin.read()):
    try:
        r = invocations(body, ctype, model, model.metadata.get_input_schema())
        out.append({"name": name, "status": r.status, "body": r.response})
    except MlflowException as e:
        out.append({"name": name, "status": e.get_http_status_code(), "error_code": e.error_code})
    except Exception as e:
        out.append({"name": name, "status": 500, "error_code": repr(e)})
print(json.dumps(out))
`;

interface Outcome {
  readonly status: number;
  readonly errorCode?: string;
  readonly values?: number[];
}

function ours(body: string, type: string): Outcome {
  try {
    checkContentType(type);
    const input = scoringImages(decodeJson(Buffer.from(body)), { height: H, width: W });
    return { status: 200, values: Array.from(input.pixels) };
  } catch (error) {
    // MLflow's 415s are plain text, without an error code
    if (error instanceof RequestError) return { status: error.status, errorCode: error.plainText ? 'text' : error.errorCode };
    throw error;
  }
}

function theirs(result: unknown): Outcome {
  assert.ok(typeof result === 'object' && result !== null && 'status' in result && typeof result.status === 'number');
  if (result.status !== 200) return { status: result.status, errorCode: 'error_code' in result ? String(result.error_code) : 'text' };
  assert.ok('body' in result && typeof result.body === 'string');
  const parsed: unknown = JSON.parse(result.body.replaceAll('NaN', 'null'));
  assert.ok(typeof parsed === 'object' && parsed !== null && 'predictions' in parsed && Array.isArray(parsed.predictions));
  return { status: 200, values: parsed.predictions.flat().map((v: unknown) => (typeof v === 'number' ? Math.fround(v) : Number.NaN)) };
}

describe("request parsing agrees with MLflow's scoring server", { timeout: 300_000 }, () => {
  it('accepts what MLflow accepts (same values) and refuses what it refuses (same status and code)', async () => {
    const jobs = CASES.map(([name, body, type]) => [name, typeof body === 'string' ? body : JSON.stringify(body), type ?? 'application/json']);
    const run = promisify(execFile)(venvPython(), ['-c', SCRIPT], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' }, maxBuffer: 16 * 2 ** 20 });
    run.child.stdin?.end(JSON.stringify(jobs));
    const results: unknown = JSON.parse((await run).stdout.trim().split('\n').at(-1) ?? '[]');
    assert.ok(Array.isArray(results) && results.length === jobs.length);
    const stricter: string[] = [];
    jobs.forEach(([name = '', body = '', type = ''], i) => {
      const a = ours(body, type);
      const b = theirs(results[i]);
      if (a.status !== 200 && b.status === 200) {
        stricter.push(name);
        return;
      }
      assert.deepEqual(a, b, `${name}: ours ${JSON.stringify(a)}, MLflow's ${JSON.stringify(b)}`);
    });
    assert.deepEqual(stricter, STRICTER, 'MLflow takes these, we refuse them');
  });
});
