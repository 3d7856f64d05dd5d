/**
 * Writes a tfjs LayersModel as a full-model Keras `.h5` (the legacy HDF5 format) that Python Keras 3
 * `keras.models.load_model(path)` loads:
 * - root attributes `model_config` (JSON), `keras_version`, `backend`;
 * - a `model_weights` group with `layer_names`, `keras_version` and `backend`, and per layer a group
 *   with `weight_names` and one float32 dataset per weight, in `layer.weights` order. A weight named
 *   `block1_conv1/kernel` is stored at `model_weights/block1_conv1/block1_conv1/kernel`, as Keras does.
 * The file is written under a temporary name in the same directory and renamed at the end, so a
 * failure never leaves a partial file under the final name (and keeps any previous file there).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import type { Group } from 'h5wasm/node';
import { ExportError } from '../../errors.js';

type JsonObject = Record<string, unknown>;

export async function writeKerasH5(model: tf.LayersModel, path: string): Promise<void> {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  try {
    const modelConfig = JSON.stringify(kerasModelConfig(model));
    await mkdir(dirname(target), { recursive: true });
    // Create the file with node first: file-system errors come out clean instead of as HDF5 traces.
    await (await open(temp, 'wx')).close();
    const hdf5 = await h5wasm.ready;
    // HDF5 errors become JS errors instead of traces printed to stderr; writeModel is synchronous.
    hdf5.activate_throwing_error_handler();
    try {
      writeModel(temp, model, modelConfig);
    } finally {
      hdf5.deactivate_throwing_error_handler();
    }
    await syncFile(temp);
    await rename(temp, target);
  } catch (cause) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new ExportError(`cannot write Keras model file ${target}: ${reason(cause)}`, { cause });
  }
}

/** Flushes the file to disk, so that after the rename the final name never points at unwritten data. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The error's message; for an HDF5 trace its most specific line ("minor: ..."). */
function reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const minors = [...message.matchAll(/minor: (.+)/g)].map((m) => m[1]?.trim());
  return message.startsWith('HDF5-DIAG') ? (minors.at(-1) ?? message) : message;
}

/**
 * tfjs's `model.toJSON()`, made loadable by Keras 3: a Sequential whose first layer carries
 * `batch_input_shape` (built with `inputShape`) gets an explicit InputLayer, as Keras 3 would
 * otherwise add the batch dimension twice. Only `class_name` and `config` are kept, as Keras writes it.
 */
function kerasModelConfig(model: tf.LayersModel): JsonObject {
  const json: unknown = JSON.parse(JSON.stringify(model.toJSON(null, false)));
  if (!isObject(json) || typeof json['class_name'] !== 'string' || !isObject(json['config'])) {
    throw new ExportError('model.toJSON() did not return {class_name, config}');
  }
  const className = json['class_name'];
  const config = json['config'];
  if (className === 'Sequential') addInputLayer(config, model);
  return { class_name: className, config };
}

function addInputLayer(config: JsonObject, model: tf.LayersModel): void {
  const layers = config['layers'];
  const first: unknown = Array.isArray(layers) ? layers[0] : undefined;
  if (!Array.isArray(layers) || !isObject(first) || !isObject(first['config'])) {
    throw new ExportError('the Sequential model has no layers');
  }
  if (first['class_name'] === 'InputLayer') return;
  const firstConfig = first['config'];
  const batchInputShape = firstConfig['batch_input_shape'];
  if (!Array.isArray(batchInputShape)) {
    throw new ExportError('the Sequential model has no input shape: give its first layer inputShape');
  }
  delete firstConfig['batch_input_shape'];
  const taken = new Set(model.layers.map((l) => l.name));
  let name = `${String(firstConfig['name'])}_input`;
  while (taken.has(name)) name = `${name}_`;
  const dtype = typeof firstConfig['dtype'] === 'string' ? firstConfig['dtype'] : 'float32';
  layers.unshift({ class_name: 'InputLayer', config: { batch_input_shape: batchInputShape, dtype, sparse: false, name } });
}

function writeModel(file: string, model: tf.LayersModel, modelConfig: string): void {
  const kerasVersion = `tfjs-layers ${tf.version_layers}`;
  const backend = 'tensor_flow.js';
  const h5 = new h5wasm.File(file, 'w');
  try {
    h5.create_attribute('model_config', modelConfig);
    h5.create_attribute('keras_version', kerasVersion);
    h5.create_attribute('backend', backend);
    const weights = h5.create_group('model_weights');
    writeNames(weights, 'layer_names', model.layers.map((l) => l.name));
    weights.create_attribute('keras_version', kerasVersion);
    weights.create_attribute('backend', backend);
    for (const layer of model.layers) {
      if (layer.name.includes('/')) throw new ExportError(`layer name ${layer.name} contains "/"`);
      writeLayer(weights.create_group(layer.name), layer);
    }
  } finally {
    h5.close();
  }
}

function writeLayer(group: Group, layer: tf.layers.Layer): void {
  const variables = layer.weights;
  const names = variables.map((v) => v.originalName.split('/').filter((part) => part !== '').join('/'));
  const duplicate = names.find((name, i) => names.indexOf(name) !== i || name === '');
  if (duplicate !== undefined) throw new ExportError(`layer ${layer.name} has two weights named "${duplicate}"`);
  writeNames(group, 'weight_names', names);
  variables.forEach((variable, i) => {
    if (variable.dtype !== 'float32') {
      throw new ExportError(`weight ${variable.originalName} of layer ${layer.name} is ${variable.dtype}, expected float32`);
    }
    const value = variable.read();
    const data = value.dataSync();
    if (!(data instanceof Float32Array)) throw new ExportError(`weight ${variable.originalName} did not read as float32`);
    const parts = (names[i] ?? '').split('/');
    const leaf = parts.pop() ?? '';
    // h5wasm does not create intermediate groups: create them one by one.
    let parent = group;
    for (const part of parts) {
      const existing = parent.keys().includes(part) ? parent.get(part) : null;
      parent = existing instanceof h5wasm.Group ? existing : parent.create_group(part);
    }
    parent.create_dataset({ name: leaf, data, shape: [...value.shape], dtype: '<f' });
  });
}

/** A list of names as Keras stores it: strings, or an empty float64 array for an empty list (h5py's `[]`). */
function writeNames(group: Group, name: string, names: readonly string[]): void {
  if (names.length === 0) group.create_attribute(name, new Float64Array(0), [0], '<d');
  else group.create_attribute(name, [...names]);
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
