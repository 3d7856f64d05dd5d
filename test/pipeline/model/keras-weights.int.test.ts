/**
 * readKerasWeights / applyKerasWeights against real HDF5 files: ones written by the test helper in the
 * layout of Keras's official notop files, and ones written by Python Keras 3 itself (one Python process
 * for the whole file, started in `before`).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-node';
import h5wasm from 'h5wasm/node';
import { z } from 'zod';
import { WeightsError } from '../../../src/errors.js';
import { applyKerasWeights, readKerasWeights } from '../../../src/pipeline/model/keras-weights.js';
import { makeKerasNotopH5, notopLayerNames, type BlockSpec, type MadeKerasH5 } from '../../support/make-keras-h5.js';

import { runKerasPython } from '../../support/python.js';
/** The venv of scripts/setup-python.sh (which also honours TRANSFERKIT_VENV). */
const SMALL: BlockSpec = [[4, 4], [8]];
const SMALL_INPUT: [number, number, number] = [8, 8, 3];
const VGG16: BlockSpec = [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]];
const VGG_INPUT: [number, number, number] = [32, 32, 3];

// Python side: dumps the layout of HDF5 files with h5py, writes a reference file the way Keras 1 +
// h5py 2 wrote the official notop file, loads the helper's file with Keras, and saves a random VGG16.
const PYTHON_JOB = String.raw`
import json, os, sys
import numpy as np, h5py, keras
from keras.src.legacy.saving import legacy_h5_format

job = json.loads(sys.argv[1])

def attr_layout(obj):
    res = {}
    for key in sorted(obj.attrs):
        aid = h5py.h5a.open(obj.id, key.encode())
        value = obj.attrs[key]
        is_names = isinstance(value, np.ndarray) and value.dtype.kind in "SOU"
        names = [v.decode() if isinstance(v, bytes) else v for v in value.tolist()] if is_names else None
        res[key] = {"dtype": aid.dtype.str, "shape": list(aid.shape or ()), "value": names}
    return res

def layout(path):
    res = {}
    with h5py.File(path, "r") as f:
        res["/"] = {"kind": "group", "attrs": attr_layout(f)}
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                res[name] = {"kind": "dataset", "dtype": obj.dtype.str, "shape": list(obj.shape),
                             "contiguous": obj.chunks is None and obj.compression is None, "attrs": attr_layout(obj)}
            else:
                res[name] = {"kind": "group", "attrs": attr_layout(obj)}
        f.visititems(visit)
    return res

def write_reference(path, blocks):
    # Keras 1 save_weights_to_hdf5_group: f.attrs['layer_names'] = [name.encode()], per layer
    # g.attrs['weight_names'] = [...]; h5py 2 stored lists of bytes as fixed-length strings and [] as float64 (0,).
    layers, c = [("input_1", [])], 3
    for b, filters in enumerate(blocks):
        for i, n in enumerate(filters):
            name = f"block{b + 1}_conv{i + 1}"
            layers.append((name, [(f"{name}_W_1:0", (3, 3, c, n)), (f"{name}_b_1:0", (n,))]))
            c = n
        layers.append((f"block{b + 1}_pool", []))
    with h5py.File(path, "w") as f:
        f.attrs["layer_names"] = np.array([n.encode("utf8") for n, _ in layers])
        for name, weights in layers:
            g = f.create_group(name)
            g.attrs["weight_names"] = np.array([w.encode("utf8") for w, _ in weights])
            for w, shape in weights:
                g.create_dataset(w, shape, dtype="float32")[...] = np.zeros(shape, "float32")

def conv_base(blocks, input_shape):
    x = inputs = keras.Input(shape=input_shape, name="input_1")
    for b, filters in enumerate(blocks):
        for i, n in enumerate(filters):
            x = keras.layers.Conv2D(n, 3, padding="same", activation="relu", name=f"block{b + 1}_conv{i + 1}")(x)
        x = keras.layers.MaxPooling2D(2, 2, name=f"block{b + 1}_pool")(x)
    return keras.Model(inputs, x)

def save_raw(path, array):
    np.ascontiguousarray(array, dtype="<f4").tofile(path)

write_reference(job["referenceFile"], job["smallBlocks"])
layouts = {k: layout(job[k]) for k in ("smallFile", "referenceFile", "vggSpecFile")}

small = conv_base(job["smallBlocks"], job["smallInputShape"])
small.load_weights(job["smallFile"])
x_small = np.fromfile(job["smallInputFile"], "<f4").reshape([-1] + job["smallInputShape"])
save_raw(job["smallOutputFile"], small.predict(x_small, verbose=0))

keras.utils.set_random_seed(7)
vgg = keras.applications.VGG16(weights=None, include_top=False, input_shape=tuple(job["vggInputShape"]))
with h5py.File(job["vggWeightsFile"], "w") as f:
    legacy_h5_format.save_weights_to_hdf5_group(f, vgg)
vgg.save(job["vggModelFile"])
# Inputs on the scale of preprocessed images, so outputs are far above the 1e-4 tolerance.
x_vgg = np.random.default_rng(7).uniform(-128, 128, [2] + job["vggInputShape"]).astype("float32")
save_raw(job["vggInputFile"], x_vgg)
save_raw(job["vggOutputFile"], vgg.predict(x_vgg, verbose=0))
layouts["vggWeightsFile"] = layout(job["vggWeightsFile"])
print(json.dumps({"keras": keras.__version__, "layouts": layouts}))
`;

const attrSchema = z.object({ dtype: z.string(), shape: z.array(z.number()), value: z.array(z.string()).nullable() });
const entrySchema = z.object({
  kind: z.enum(['group', 'dataset']),
  dtype: z.string().optional(),
  shape: z.array(z.number()).optional(),
  contiguous: z.boolean().optional(),
  attrs: z.record(z.string(), attrSchema),
});
type Layout = Record<string, z.infer<typeof entrySchema>>;
const resultSchema = z.object({ keras: z.string(), layouts: z.record(z.string(), z.record(z.string(), entrySchema)) });


function buildConvBase(blocks: BlockSpec, inputShape: [number, number, number]): tf.Sequential {
  const model = tf.sequential();
  blocks.forEach((filters, b) => {
    filters.forEach((n, c) => {
      const first = model.layers.length === 0 ? { inputShape } : {};
      model.add(tf.layers.conv2d({ ...first, filters: n, kernelSize: 3, padding: 'same', activation: 'relu', name: `block${b + 1}_conv${c + 1}` }));
    });
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2, name: `block${b + 1}_pool` }));
  });
  return model;
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

async function readF32(path: string): Promise<Float32Array> {
  const buf = await readFile(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - (b[i] ?? NaN))), 0);
}

function predict(model: tf.LayersModel, x: Float32Array, inputShape: readonly number[]): Float32Array {
  return tf.tidy(() => {
    const batch = x.length / inputShape.reduce((a, b) => a * b, 1);
    const out = model.predict(tf.tensor(x, [batch, ...inputShape]));
    if (Array.isArray(out)) throw new Error('expected one output');
    return Float32Array.from(out.dataSync());
  });
}

describe('Keras weights files (h5wasm)', () => {
  let dir = '';
  let small: MadeKerasH5;
  let files: Record<string, string> = {};
  // The Keras run: awaited by the tests that need it, so a missing venv fails those tests (with the
  // setup hint) and not the others.
  let run: Promise<z.infer<typeof resultSchema>> | undefined;
  const keras = (): Promise<z.infer<typeof resultSchema>> => run ?? assert.fail('before() did not start the Keras run');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-keras-weights-'));
    const f = (name: string): string => join(dir, name);
    files = {
      smallFile: f('small.h5'), referenceFile: f('reference.h5'), vggSpecFile: f('vgg-spec.h5'),
      smallInputFile: f('x-small.f32'), smallOutputFile: f('y-small.f32'),
      vggWeightsFile: f('vgg16-keras-weights.h5'), vggModelFile: f('vgg16-keras-model.h5'),
      vggInputFile: f('x-vgg.f32'), vggOutputFile: f('y-vgg.f32'),
    };
    small = await makeKerasNotopH5(files['smallFile'] ?? '', SMALL, { seed: 11 });
    await makeKerasNotopH5(files['vggSpecFile'] ?? '', VGG16, { seed: 12 });
    const x = new Float32Array(2 * 8 * 8 * 3).map((_, i) => Math.sin(i * 0.7) * 2);
    await writeFile(files['smallInputFile'] ?? '', bytes(x));
    run = runKerasPython(PYTHON_JOB, { ...files, smallBlocks: SMALL, smallInputShape: SMALL_INPUT, vggInputShape: VGG_INPUT })
      .then((stdout) => resultSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')));
    run.catch(() => undefined);
  });

  after(async () => {
    await run?.catch(() => undefined);
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  const file = (name: string): string => files[name] ?? assert.fail(`no file ${name}`);
  const layoutOf = async (name: string): Promise<Layout> => (await keras()).layouts[name] ?? assert.fail(`no layout of ${name}`);

  test('the helper writes the notop layout exactly as h5py writes it the Keras 1 way', async () => {
    // Groups, attribute names, dtypes (|S<n> fixed-length strings, <f8 (0,) for empty lists), dataset
    // names, dtypes, shapes and storage. Not compared: string padding (NULLTERM from h5wasm, NULLPAD from h5py).
    const helper = await layoutOf('smallFile');
    assert.deepEqual(helper, await layoutOf('referenceFile'));
    assert.deepEqual(helper['/']?.attrs['layer_names']?.value, small.layerNames);
    assert.equal(helper['block1_pool']?.attrs['weight_names']?.dtype, '<f8');
  });

  test("the helper's VGG16 file has the layers, attributes and array shapes of Keras 3's own VGG16 weights file", async () => {
    const summarize = (layout: Layout): unknown[] => {
      const names = layout['/']?.attrs['layer_names']?.value ?? assert.fail('no layer_names');
      assert.match(names[0] ?? '', /^input/);
      return names.slice(1).map((layer) => {
        const group = layout[layer] ?? assert.fail(`no group ${layer}`);
        const weightNames = group.attrs['weight_names'] ?? assert.fail(`no weight_names on ${layer}`);
        const arrays = (weightNames.value ?? []).map((w) => {
          const ds = layout[`${layer}/${w}`] ?? assert.fail(`no dataset ${layer}/${w}`);
          return [ds.kind, ds.dtype, ds.shape, ds.contiguous];
        });
        return [layer, Object.keys(group.attrs), weightNames.value === null ? [weightNames.dtype, weightNames.shape] : 'names', arrays];
      });
    };
    const reference = await layoutOf('vggWeightsFile');
    assert.deepEqual(summarize(await layoutOf('vggSpecFile')), summarize(reference), `Keras ${(await keras()).keras}`);
  });

  test('weights land in the right layers, byte for byte, in weight_names order', async () => {
    const weights = await readKerasWeights(file('smallFile'));
    assert.deepEqual([...weights.keys()], small.layerNames);
    assert.deepEqual(weights.get('block1_pool'), []);
    const model = buildConvBase(SMALL, SMALL_INPUT);
    applyKerasWeights(model, weights, { layers: notopLayerNames(SMALL).conv, file: file('smallFile') });
    for (const [layer, written] of small.arrays) {
      const actual = model.getLayer(layer).getWeights();
      assert.equal(actual.length, written.length, layer);
      written.forEach((array, i) => {
        const tensor = actual[i] ?? assert.fail(`${layer} has no weight ${i}`);
        assert.deepEqual(tensor.shape, array.shape, `${layer} ${array.name}`);
        assert.ok(bytes(Float32Array.from(tensor.dataSync())).equals(bytes(array.values)), `${layer} ${array.name} differs`);
      });
    }
    model.dispose();
  });

  test('tfjs with the helper file predicts what Keras load_weights with the same file predicts', async () => {
    await keras();
    const model = buildConvBase(SMALL, SMALL_INPUT);
    applyKerasWeights(model, await readKerasWeights(file('smallFile')), { layers: notopLayerNames(SMALL).conv, file: file('smallFile') });
    const expected = await readF32(file('smallOutputFile'));
    const diff = maxAbsDiff(predict(model, await readF32(file('smallInputFile')), SMALL_INPUT), expected);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    assert.ok(Math.max(...expected.map(Math.abs)) > 0.1, 'outputs too small for the comparison to mean anything');
    model.dispose();
  });

  test('a VGG16 weights file written by Python Keras loads into tfjs and predicts like Keras (1e-4)', async (t) => {
    const kerasVersion = (await keras()).keras;
    const model = buildConvBase(VGG16, VGG_INPUT);
    const weights = await readKerasWeights(file('vggWeightsFile'));
    applyKerasWeights(model, weights, { layers: notopLayerNames(VGG16).conv, file: file('vggWeightsFile'), backbone: 'vgg16' });
    const expected = await readF32(file('vggOutputFile'));
    const diff = maxAbsDiff(predict(model, await readF32(file('vggInputFile')), VGG_INPUT), expected);
    const scale = Math.max(...expected.map(Math.abs));
    t.diagnostic(`tfjs vs Keras ${kerasVersion}: max abs diff ${diff.toExponential(2)}, max |output| ${scale.toFixed(3)}`);
    assert.ok(diff <= 1e-4, `max abs diff ${diff}`);
    assert.ok(scale > 0.1, 'outputs too small for the comparison to mean anything');
    model.dispose();
  });

  test('a full-model .h5 saved by Keras (model_weights group) reads to the same arrays', async () => {
    await keras();
    const fromWeights = await readKerasWeights(file('vggWeightsFile'));
    const fromModel = await readKerasWeights(file('vggModelFile'));
    const conv = notopLayerNames(VGG16).conv;
    for (const layer of conv) {
      const a = fromWeights.get(layer) ?? assert.fail(`weights file lacks ${layer}`);
      const b = fromModel.get(layer) ?? assert.fail(`model file lacks ${layer}`);
      assert.deepEqual(b.map((w) => w.shape), a.map((w) => w.shape), layer);
      b.forEach((w, i) => assert.ok(bytes(w.values).equals(bytes(a[i]?.values ?? new Float32Array())), `${layer} ${w.name}`));
    }
    assert.deepEqual(fromModel.get('block1_conv1')?.map((w) => w.name), ['block1_conv1/kernel', 'block1_conv1/bias']);
  });

  test('a kernel of the wrong shape gives one WeightsError naming file, layer, found and expected shape; nothing is set', async () => {
    const path = join(dir, 'one-channel.h5');
    await makeKerasNotopH5(path, SMALL, { inputChannels: 1 });
    const model = buildConvBase(SMALL, SMALL_INPUT);
    const weights = await readKerasWeights(path);
    const before = model.getLayer('block1_conv2').getWeights()[0]?.dataSync().slice();
    assert.throws(
      () => applyKerasWeights(model, weights, { layers: notopLayerNames(SMALL).conv, file: path, backbone: 'tiny' }),
      (error: unknown) => {
        assert.ok(error instanceof WeightsError);
        assert.equal(error.code, 'ERR_WEIGHTS');
        assert.equal(error.message, `weights file ${path} does not match backbone tiny: block1_conv1 kernel has shape [3,3,1,4], expected [3,3,3,4]`);
        return true;
      },
    );
    // block1_conv2 matched, but all or nothing: it kept its initial weights.
    const after = model.getLayer('block1_conv2').getWeights()[0]?.dataSync();
    assert.ok(before !== undefined && after !== undefined && bytes(Float32Array.from(after)).equals(bytes(Float32Array.from(before))));
    model.dispose();
  });

  test('missing layers, wrong array counts and wrong shapes are all listed in one WeightsError', async () => {
    const path = join(dir, 'short.h5');
    await makeKerasNotopH5(path, [[4, 4], [8]], { inputChannels: 1 });
    const weights = new Map(await readKerasWeights(path));
    const conv2 = weights.get('block1_conv2') ?? assert.fail('no block1_conv2');
    weights.set('block1_conv2', [...conv2, { name: 'extra', shape: [1], values: new Float32Array(1) }]);
    const model = buildConvBase([[4, 4], [8, 8]], SMALL_INPUT);
    assert.throws(
      () => applyKerasWeights(model, weights, { layers: notopLayerNames([[4, 4], [8, 8]]).conv, file: path }),
      (error: unknown) => {
        assert.ok(error instanceof WeightsError);
        assert.equal(
          error.message,
          `weights file ${path} does not match the model: block1_conv1 kernel has shape [3,3,1,4], expected [3,3,3,4]; ` +
            'layer block1_conv2 has 3 arrays, expected 2; layer block2_conv2 missing',
        );
        return true;
      },
    );
    model.dispose();
  });

  test('a file that is not HDF5 gives a WeightsError naming the path', async () => {
    const path = join(dir, 'not-hdf5.h5');
    await writeFile(path, '<html>404 Not Found</html>\n');
    await assert.rejects(readKerasWeights(path), (error: unknown) => {
      assert.ok(error instanceof WeightsError);
      assert.equal(error.message, `weights file ${path} is not an HDF5 file (no HDF5 signature)`);
      return true;
    });
  });

  test('a missing, a truncated, and a non-Keras HDF5 file give WeightsErrors naming the path', async () => {
    const missing = join(dir, 'missing.h5');
    await assert.rejects(readKerasWeights(missing), { name: 'WeightsError', message: `weights file ${missing} does not exist` });

    const truncated = join(dir, 'truncated.h5');
    await writeFile(truncated, (await readFile(file('smallFile'))).subarray(0, 1500));
    await assert.rejects(readKerasWeights(truncated), (error: unknown) => {
      assert.ok(error instanceof WeightsError);
      assert.ok(error.message.startsWith(`weights file ${truncated} cannot be read as HDF5 (truncated or corrupt?): `), error.message);
      return true;
    });

    const other = join(dir, 'other.h5');
    await h5wasm.ready;
    const h5 = new h5wasm.File(other, 'w');
    h5.create_dataset({ name: 'data', data: new Float32Array([1, 2, 3]) });
    h5.close();
    await assert.rejects(readKerasWeights(other), {
      name: 'WeightsError',
      message: `weights file ${other} is HDF5 but not a Keras weights file: no layer_names attribute at / or /model_weights`,
    });
  });
});

