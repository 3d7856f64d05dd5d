/**
 * The model/ folder as an MLflow Model: a real folder from the real export (small-cnn at 16×16)
 * plus writeMlflowModel, loaded by the venv's MLflow: `mlflow.pyfunc.load_model(folder)` predicts
 * on raw pixels what Keras's load_model('model.h5') and transferkit's loadClassifier (tfjs) do; the
 * input example goes through the signature; the pinned versions are the ones installed.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { parse } from 'yaml';
import { z } from 'zod';
import { initBackend } from '../../src/pipeline/backend.js';
import { modelMeta } from '../../src/pipeline/export/meta.js';
import { exportModelDir } from '../../src/pipeline/export/model-dir.js';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../src/pipeline/model/build.js';
import { loadClassifier } from '../../src/predict/classifier.js';
import { mlmodelInfo, writeMlflowModel } from '../../src/tracking/mlmodel.js';
import { MLFLOW_MODEL_FILES, MODEL_RUNTIME } from '../../src/tracking/model-env.js';
import { runKerasPython } from '../support/python.js';

const spec = BACKBONES['small-cnn'];
const SIZE = 16;
const CLASSES = ['cat', 'dog', 'bird'];
const N = 4;

const pythonOut = z.object({
  pyfunc: z.array(z.array(z.number())),
  keras: z.array(z.array(z.number())),
  example: z.array(z.array(z.number())),
  example_shape: z.array(z.number()),
  versions: z.object({ mlflow: z.string(), tensorflow: z.string(), keras: z.string(), python: z.string() }),
  flavors: z.array(z.string()),
  signature_inputs: z.string(),
});

const SCRIPT = `
import json, sys, platform, numpy as np
job = json.loads(sys.argv[1])
import mlflow, keras, tensorflow as tf
from mlflow.models import Model
d = job["dir"]
x = np.fromfile(job["pixels"], dtype=np.float32).reshape(job["n"], job["size"], job["size"], 3)
model = mlflow.pyfunc.load_model(d)
meta = Model.load(d)
example = meta.load_input_example(d)
out = {
  "pyfunc": np.asarray(model.predict(x)).tolist(),
  "keras": keras.models.load_model(d + "/model.h5").predict(x, verbose=0).tolist(),
  "example": np.asarray(model.predict(example)).tolist(),
  "example_shape": list(example.shape),
  "versions": {"mlflow": mlflow.__version__, "tensorflow": tf.__version__, "keras": keras.__version__,
               "python": ".".join(platform.python_version_tuple()[:2])},
  "flavors": sorted(meta.flavors.keys()),
  "signature_inputs": str(meta.signature.inputs),
}
# Keras prints progress bars on stdout: the answer goes to a file
with open(job["out"], "w") as f:
    json.dump(out, f)
`;

const maxDiff = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN))));

describe('model/ as an MLflow Model (tensorflow + python_function flavors over model.h5)', () => {
  let work: string;
  let dir: string;
  let pixels: Float32Array;

  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    work = await mkdtemp(join(tmpdir(), 'transferkit-mlmodel-'));
    dir = join(work, 'model');
    const model = buildClassifier(spec, SIZE, { numClasses: CLASSES.length, denseUnits: 8, dropout: 0.5, seed: 4 });
    const meta = modelMeta({ spec, inputSize: SIZE, dataset: 'test', classIds: [0, 1, 2], classNames: CLASSES, baseWeights: 'none' });
    await exportModelDir(model, dir, meta, spec.preprocessing);
    model.dispose();
    const info = mlmodelInfo({ artifactPath: 'model', now: Date.UTC(2026, 0, 31, 12), transferkitVersion: '0.1.0', tfjsVersion: tf.version_layers, classNames: CLASSES, inputSize: SIZE, modelId: 'm-0123abcd' });
    await writeMlflowModel(dir, { info, runId: 'r0', inputSize: SIZE, classes: CLASSES.length, mlflowVersion: MODEL_RUNTIME.mlflow });
    // raw RGB pixels 0-255, as the exported model takes them
    const x = tf.randomUniform([N, SIZE, SIZE, 3], 0, 255, 'float32', 11);
    pixels = Float32Array.from(x.dataSync());
    x.dispose();
    await writeFile(join(work, 'x.f32'), Buffer.from(pixels.buffer));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('keeps model.h5 where the seed has it and adds the MLflow files beside it (no data/ copy)', async () => {
    const files = (await readdir(dir)).sort();
    assert.deepEqual(files, [...MLFLOW_MODEL_FILES, 'model.h5', 'model.json', 'transferkit.json', 'weights.bin'].sort());
    const mlmodel = z
      .object({
        artifact_path: z.string(),
        flavors: z.record(z.string(), z.record(z.string(), z.unknown())),
        model_id: z.string(),
        run_id: z.string(),
        mlflow_version: z.string(),
        utc_time_created: z.string(),
        signature: z.object({ inputs: z.string(), outputs: z.string() }),
        saved_input_example_info: z.object({ artifact_path: z.string(), serving_input_path: z.string(), type: z.literal('ndarray') }),
      })
      .parse(parse(await readFile(join(dir, 'MLmodel'), 'utf8')));
    assert.deepEqual(Object.keys(mlmodel.flavors).sort(), ['python_function', 'tensorflow', 'transferkit']);
    assert.deepEqual(mlmodel.flavors['tensorflow'], { code: null, data: '.', model_type: 'keras', save_format: 'h5', keras_version: MODEL_RUNTIME.tensorflow });
    assert.equal(mlmodel.flavors['python_function']?.['loader_module'], 'mlflow.tensorflow');
    assert.equal(mlmodel.utc_time_created, '2026-01-31 12:00:00.000000');
    assert.equal(mlmodel.model_id, 'm-0123abcd');
    assert.deepEqual(JSON.parse(mlmodel.signature.inputs), [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, SIZE, SIZE, 3] } }]);
    assert.deepEqual(JSON.parse(mlmodel.signature.outputs), [{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape: [-1, CLASSES.length] } }]);
    const example: unknown = JSON.parse(await readFile(join(dir, 'input_example.json'), 'utf8'));
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'serving_input_example.json'), 'utf8')), { inputs: example });
    assert.equal((await readFile(join(dir, 'requirements.txt'), 'utf8')).split('\n')[0], `mlflow==${MODEL_RUNTIME.mlflow}`);
  });

  it('mlflow.pyfunc.load_model predicts on raw pixels what Keras (1e-5) and tfjs (1e-4) do; the pins are what is installed', async () => {
    await runKerasPython(SCRIPT, { dir, pixels: join(work, 'x.f32'), n: N, size: SIZE, out: join(work, 'py.json') });
    const out = pythonOut.parse(JSON.parse(await readFile(join(work, 'py.json'), 'utf8')));
    const classifier = await loadClassifier(dir);
    const tfjs = Array.from(await classifier.predict(pixels, N));
    classifier.dispose();
    const pyfunc = out.pyfunc.flat();
    assert.equal(pyfunc.length, N * CLASSES.length);
    assert.ok(maxDiff(pyfunc, out.keras.flat()) <= 1e-5, `pyfunc vs keras: ${maxDiff(pyfunc, out.keras.flat())}`);
    assert.ok(maxDiff(pyfunc, tfjs) <= 1e-4, `pyfunc vs tfjs: ${maxDiff(pyfunc, tfjs)}`);
    for (const row of out.pyfunc) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, 'probabilities sum to 1');
    // the input example (a mid-grey image) goes through the signature
    assert.deepEqual(out.example_shape, [1, SIZE, SIZE, 3]);
    const grey = await loadClassifier(dir);
    const greyTfjs = Array.from(await grey.predict(new Float32Array(SIZE * SIZE * 3).fill(128), 1));
    grey.dispose();
    assert.ok(maxDiff(out.example.flat(), greyTfjs) <= 1e-4);
    assert.deepEqual(out.flavors, ['python_function', 'tensorflow', 'transferkit']);
    assert.match(out.signature_inputs, /float32.*-1, 16, 16, 3/);
    assert.deepEqual(
      { mlflow: out.versions.mlflow, tensorflow: out.versions.tensorflow, keras: out.versions.keras, python: out.versions.python },
      { mlflow: MODEL_RUNTIME.mlflow, tensorflow: MODEL_RUNTIME.tensorflow, keras: MODEL_RUNTIME.keras, python: MODEL_RUNTIME.python },
      'MODEL_RUNTIME pins the versions the venv verifies the model with',
    );
  });
});
