/**
 * writeKerasH5 against Python Keras 3: the files it writes are loaded with `keras.models.load_model`
 * (one Python process for the whole file, started in `before`) and must predict what tfjs predicts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import h5wasm from 'h5wasm/node';
import { z } from 'zod';
import { ExportError } from '../../../src/errors.js';
import { writeKerasH5 } from '../../../src/pipeline/export/keras-h5.js';
import { readKerasWeights } from '../../../src/pipeline/model/keras-weights.js';

import { runKerasPython } from '../../support/python.js';
/** The venv of scripts/setup-python.sh (which also honours TRANSFERKIT_VENV). */

const PYTHON_JOB = String.raw`
import json, sys
import numpy as np, keras

job = json.loads(sys.argv[1])
out = {"keras": keras.__version__, "models": {}}
for m in job["models"]:
    model = keras.models.load_model(m["file"])
    x = np.fromfile(m["input"], "<f4").reshape([-1] + m["inputShape"])
    np.ascontiguousarray(model.predict(x, verbose=0), dtype="<f4").tofile(m["output"])
    out["models"][m["name"]] = {
        "class": type(model).__name__,
        "layers": [{"name": l.name, "class": type(l).__name__, "trainable": l.trainable} for l in model.layers],
    }
print(json.dumps(out))
`;

const resultSchema = z.object({
  keras: z.string(),
  models: z.record(
    z.string(),
    z.object({
      class: z.string(),
      layers: z.array(z.object({ name: z.string(), class: z.string(), trainable: z.boolean() })),
    }),
  ),
});
type KerasResult = z.infer<typeof resultSchema>;


/** Deterministic non-trivial weights (non-zero biases; positive BatchNormalization variances). */
function randomize(model: tf.LayersModel, seed: number): void {
  model.layers.forEach((layer, l) => {
    const values = layer.getWeights().map((w, i) =>
      tf.tidy(() => {
        const r = tf.randomNormal(w.shape, 0, 0.3, 'float32', seed + l * 10 + i);
        return layer.getClassName() === 'BatchNormalization' && i === 3 ? r.abs().add(0.5) : r;
      }),
    );
    layer.setWeights(values);
    tf.dispose(values);
  });
}

function classifier(): tf.Sequential {
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block1_conv1' }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block1_conv2' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'block1_pool' }),
      tf.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block2_conv1' }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: 'block2_pool' }),
      tf.layers.flatten({ name: 'flatten' }),
      tf.layers.dense({ units: 16, activation: 'relu', name: 'fc1' }),
      tf.layers.dropout({ rate: 0.5, name: 'dropout' }),
      tf.layers.dense({ units: 5, activation: 'softmax', name: 'predictions' }),
    ],
  });
  randomize(model, 100);
  for (const name of ['block1_conv1', 'block1_conv2']) model.getLayer(name).trainable = false;
  return model;
}

function functionalWithBatchNorm(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3], name: 'image' });
  const apply = (layer: tf.layers.Layer, x: tf.SymbolicTensor): tf.SymbolicTensor => {
    const y = layer.apply(x);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error('expected one symbolic tensor');
    return y;
  };
  let x = apply(tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'block1_conv1' }), input);
  x = apply(tf.layers.batchNormalization({ name: 'bn' }), x);
  x = apply(tf.layers.globalAveragePooling2d({ name: 'gap' }), x);
  x = apply(tf.layers.dense({ units: 3, activation: 'softmax', name: 'predictions' }), x);
  const model = tf.model({ inputs: input, outputs: x });
  randomize(model, 200);
  return model;
}

function inputs(n: number, shape: readonly number[]): Float32Array {
  return new Float32Array(n * shape.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37) * 1.5);
}

function predict(model: tf.LayersModel, x: Float32Array, shape: readonly number[]): Float32Array {
  return tf.tidy(() => {
    const batch = x.length / shape.reduce((a, b) => a * b, 1);
    const out = model.predict(tf.tensor(x, [batch, ...shape]));
    if (Array.isArray(out)) throw new Error('expected one output');
    return Float32Array.from(out.dataSync());
  });
}

async function readF32(path: string): Promise<Float32Array> {
  const buf = await readFile(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
}

describe('writeKerasH5 (Keras-loadable model.h5)', () => {
  let dir = '';
  // The Keras run: awaited by the tests that need it, so a missing venv fails those tests (with the
  // setup hint) and not the others.
  let run: Promise<KerasResult> | undefined;
  const keras = (): Promise<KerasResult> => run ?? assert.fail('before() did not start the Keras run');
  const cases = {
    sequential: { model: classifier(), shape: [16, 16, 3] },
    functional: { model: functionalWithBatchNorm(), shape: [8, 8, 3] },
  };
  const path = (name: string): string => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-keras-h5-'));
    const jobs = [];
    for (const [name, { model, shape }] of Object.entries(cases)) {
      await writeKerasH5(model, path(`${name}/model.h5`));
      await writeFile(path(`${name}-x.f32`), bytes(inputs(4, shape)));
      jobs.push({ name, file: path(`${name}/model.h5`), input: path(`${name}-x.f32`), output: path(`${name}-y.f32`), inputShape: shape });
    }
    run = runKerasPython(PYTHON_JOB, { models: jobs }).then((stdout) =>
      resultSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')),
    );
    run.catch(() => undefined);
  });

  after(async () => {
    await run?.catch(() => undefined);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  for (const name of ['sequential', 'functional'] as const) {
    test(`Keras load_model reproduces tfjs predictions of the ${name} model within 1e-4`, async (t) => {
      const { keras: version } = await keras();
      const { model, shape } = cases[name];
      const expected = predict(model, await readF32(path(`${name}-x.f32`)), shape);
      const diff = maxAbsDiff(await readF32(path(`${name}-y.f32`)), expected);
      t.diagnostic(`tfjs vs Keras ${version}: max abs diff ${diff.toExponential(2)}`);
      assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
      assert.ok(Math.max(...expected) - Math.min(...expected) > 0.1, 'outputs too uniform for the comparison to mean anything');
    });
  }

  test('Keras sees the same layers, and layers frozen in tfjs stay frozen', async () => {
    const { models } = await keras();
    const seen = models['sequential'] ?? assert.fail('no Keras result');
    assert.equal(seen.class, 'Sequential');
    assert.deepEqual(
      seen.layers.map((l) => [l.name, l.trainable]),
      cases.sequential.model.layers.map((l) => [l.name, l.trainable]),
    );
    assert.deepEqual(seen.layers.slice(0, 2).map((l) => l.trainable), [false, false]);
    assert.equal(models['functional']?.class, 'Functional');
  });

  test('the file records model_config (with an explicit InputLayer), keras_version and backend', async () => {
    await h5wasm.ready;
    const h5 = new h5wasm.File(path('sequential/model.h5'), 'r');
    try {
      const attr = (name: string): unknown => h5.attrs[name]?.value;
      assert.equal(attr('keras_version'), `tfjs-layers ${tf.version_layers}`);
      assert.equal(attr('backend'), 'tensor_flow.js');
      const config: unknown = JSON.parse(String(attr('model_config')));
      const parsed = z
        .object({ class_name: z.literal('Sequential'), config: z.object({ layers: z.array(z.object({ class_name: z.string(), config: z.record(z.string(), z.unknown()) })) }) })
        .parse(config);
      const [input, first] = parsed.config.layers;
      assert.equal(input?.class_name, 'InputLayer');
      assert.deepEqual(input?.config['batch_input_shape'], [null, 16, 16, 3]);
      assert.equal(first?.config['name'], 'block1_conv1');
      assert.equal(first?.config['batch_input_shape'], undefined);
    } finally {
      h5.close();
    }
  });

  test('the weights read back through readKerasWeights byte for byte', async () => {
    const { model } = cases.functional;
    const read = await readKerasWeights(path('functional/model.h5'));
    assert.deepEqual([...read.keys()], model.layers.map((l) => l.name));
    for (const layer of model.layers) {
      const arrays = read.get(layer.name) ?? assert.fail(`no ${layer.name}`);
      assert.deepEqual(arrays.map((a) => a.name), layer.weights.map((w) => w.originalName));
      layer.getWeights().forEach((w, i) => {
        const a = arrays[i] ?? assert.fail(`${layer.name} lacks array ${i}`);
        assert.deepEqual(a.shape, w.shape);
        assert.ok(bytes(a.values).equals(bytes(Float32Array.from(w.dataSync()))), `${layer.name} ${a.name}`);
      });
    }
  });

  test('a write that fails midway leaves nothing under the final name and keeps the previous file', async () => {
    const out = path('interrupted');
    const target = join(out, 'model.h5');
    const model = classifier();
    // A crash while the weights are being written: earlier layers are already in the temp file.
    Object.defineProperty(model.getLayer('predictions'), 'weights', { get: () => { throw new Error('simulated crash'); } });

    await assert.rejects(writeKerasH5(model, target), (error: unknown) => {
      assert.ok(error instanceof ExportError);
      assert.equal(error.code, 'ERR_EXPORT');
      assert.equal(error.message, `cannot write Keras model file ${target}: simulated crash`);
      return true;
    });
    assert.deepEqual(await readdir(out), []);

    await writeFile(target, 'previous model');
    await assert.rejects(writeKerasH5(model, target), ExportError);
    assert.deepEqual(await readdir(out), ['model.h5']);
    assert.equal(await readFile(target, 'utf8'), 'previous model');
  });

  test('an unwritable destination gives an ExportError naming the path', async () => {
    const blocker = path('not-a-dir');
    await writeFile(blocker, '');
    const target = join(blocker, 'model.h5');
    await assert.rejects(writeKerasH5(cases.sequential.model, target), (error: unknown) => {
      assert.ok(error instanceof ExportError);
      assert.match(error.message, new RegExp(`^cannot write Keras model file ${target.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
      return true;
    });
  });
});
