/**
 * Keras weights files (`.h5`) read through a real HDF5 library (h5wasm) and applied to tfjs layers.
 *
 * Two layouts are read:
 * - weights only (Keras `save_weights`, e.g. the official vgg16/vgg19 notop files): the root has the
 *   attribute `layer_names`; each layer is a group with the attribute `weight_names`, and each weight
 *   name is the path of a float32 dataset inside that group (`block1_conv1_W_1:0`, or nested like
 *   `block1_conv1/kernel` in files written by Keras 3);
 * - a full model (Keras `model.save('x.h5')`, or `writeKerasH5`): the same under `/model_weights`.
 * Everything read from the file is untrusted and checked at runtime.
 */
import { open } from 'node:fs/promises';
import { resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import h5wasm from 'h5wasm/node';
import type { Group } from 'h5wasm/node';
import { WeightsError, describeValue } from '../../errors.js';

/** One array of a layer, as stored in the file. */
export interface KerasWeight {
  /** The name listed in the layer's `weight_names` (the dataset path inside the layer group). */
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

/** A layer's arrays in `weight_names` order (for conv and dense layers: kernel, bias). */
export type KerasLayerWeights = readonly KerasWeight[];

export interface ApplyKerasWeightsOptions {
  /** Names of the layers that must be loaded from the file, e.g. every conv layer of the backbone. */
  readonly layers: readonly string[];
  /** The weights file, named in error messages. */
  readonly file: string;
  /** The backbone the file should fit, named in error messages (e.g. `vgg16`). */
  readonly backbone?: string;
}

const HDF5_SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Reads every layer of a Keras weights file: layer name → arrays, in the file's `layer_names` order. */
export async function readKerasWeights(path: string): Promise<Map<string, KerasLayerWeights>> {
  const file = resolve(path);
  await assertHdf5(file);
  const hdf5 = await h5wasm.ready;
  // HDF5 errors become JS errors instead of traces printed to stderr. All calls below are synchronous,
  // so no other h5wasm user runs while this is on.
  hdf5.activate_throwing_error_handler();
  try {
    return readLayers(file);
  } catch (cause) {
    if (cause instanceof WeightsError) throw cause;
    throw new WeightsError(`weights file ${file} cannot be read as HDF5 (truncated or corrupt?): ${hdf5Reason(cause)}`, { cause });
  } finally {
    hdf5.deactivate_throwing_error_handler();
  }
}

/**
 * Checks that the file has every layer in `options.layers` with arrays of the shapes the model's layers
 * expect, then sets them. All or nothing: on any mismatch no layer is changed, and one WeightsError
 * lists every problem found.
 */
export function applyKerasWeights(
  model: tf.LayersModel,
  weights: ReadonlyMap<string, KerasLayerWeights>,
  options: ApplyKerasWeightsOptions,
): void {
  const problems: string[] = [];
  const plan: Array<{ layer: tf.layers.Layer; arrays: KerasLayerWeights }> = [];
  for (const name of options.layers) {
    const layer = model.layers.find((l) => l.name === name);
    if (layer === undefined) throw new Error(`applyKerasWeights: the model has no layer named ${name}`);
    const arrays = weights.get(name);
    if (arrays === undefined) {
      problems.push(`layer ${name} missing`);
      continue;
    }
    const expected = layer.weights;
    if (arrays.length !== expected.length) {
      problems.push(`layer ${name} has ${arrays.length} arrays, expected ${expected.length}`);
      continue;
    }
    const before = problems.length;
    expected.forEach((variable, i) => {
      const found = arrays[i]?.shape ?? [];
      if (!sameShape(found, variable.shape)) {
        problems.push(`${name} ${shortName(variable.originalName)} has shape ${fmt(found)}, expected ${fmt(variable.shape)}`);
      }
    });
    if (problems.length === before) plan.push({ layer, arrays });
  }
  if (problems.length > 0) {
    const subject = options.backbone === undefined ? 'the model' : `backbone ${options.backbone}`;
    throw new WeightsError(`weights file ${options.file} does not match ${subject}: ${problems.join('; ')}`);
  }
  for (const { layer, arrays } of plan) {
    const tensors = arrays.map((a) => tf.tensor(a.values, [...a.shape], 'float32'));
    try {
      layer.setWeights(tensors);
    } finally {
      tf.dispose(tensors);
    }
  }
}

async function assertHdf5(file: string): Promise<void> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (cause) {
    const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${cause instanceof Error ? cause.message : String(cause)})`;
    throw new WeightsError(`weights file ${file} ${why}`, { cause });
  }
  try {
    const { size } = await handle.stat();
    // The superblock is at 0, or after a user block at 512, 1024, 2048, ...
    for (let offset = 0; offset + HDF5_SIGNATURE.length <= size; offset = offset === 0 ? 512 : offset * 2) {
      const head = Buffer.alloc(HDF5_SIGNATURE.length);
      await handle.read(head, 0, head.length, offset);
      if (head.equals(HDF5_SIGNATURE)) return;
    }
  } catch (cause) {
    throw new WeightsError(`weights file ${file} cannot be read (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
  } finally {
    await handle.close();
  }
  throw new WeightsError(`weights file ${file} is not an HDF5 file (no HDF5 signature)`);
}

function readLayers(file: string): Map<string, KerasLayerWeights> {
  const h5 = new h5wasm.File(file, 'r');
  try {
    const root = weightsRoot(h5, file);
    const layers = new Map<string, KerasLayerWeights>();
    for (const layer of readNames(root, 'layer_names', file, '/') ?? []) {
      layers.set(layer, readLayer(root, layer, file));
    }
    return layers;
  } finally {
    h5.close();
  }
}

/** The group holding `layer_names`: the root (weights-only file) or `/model_weights` (full model). */
function weightsRoot(h5: InstanceType<typeof h5wasm.File>, file: string): Group {
  if (hasNames(h5, 'layer_names')) return h5;
  const nested = h5.keys().includes('model_weights') ? h5.get('model_weights') : null;
  if (nested instanceof h5wasm.Group && hasNames(nested, 'layer_names')) return nested;
  throw new WeightsError(
    `weights file ${file} is HDF5 but not a Keras weights file: no layer_names attribute at / or /model_weights`,
  );
}

function readLayer(root: Group, layer: string, file: string): KerasLayerWeights {
  const group = root.keys().includes(layer) ? root.get(layer) : null;
  if (!(group instanceof h5wasm.Group)) {
    throw new WeightsError(`weights file ${file}: layer_names lists ${layer} but there is no group of that name`);
  }
  const names = readNames(group, 'weight_names', file, `${root.path}/${layer}`);
  if (names === undefined) throw new WeightsError(`weights file ${file}: layer ${layer} has no weight_names attribute`);
  return names.map((name) => readArray(group, layer, name, file));
}

function readArray(group: Group, layer: string, name: string, file: string): KerasWeight {
  const where = `dataset ${name} of layer ${layer}`;
  let entity: ReturnType<Group['get']> = null;
  try {
    entity = group.get(name);
  } catch {
    // HDF5 rejects some paths (empty, or through a dataset) instead of answering "absent".
  }
  if (!(entity instanceof h5wasm.Dataset)) throw new WeightsError(`weights file ${file}: ${where} is missing`);
  const shape = entity.shape ?? [];
  const dtype = entity.dtype;
  // Integer arrays occur beside the float weights (EfficientNet's Normalization `count` is int64):
  // read as numbers so the rest of the file loads; only float layers are ever applied to a model.
  const value = ['<f', '<d', '<q', '<i', '<l'].includes(String(dtype)) ? entity.value : null;
  const values = floats(value);
  if (values === null) {
    throw new WeightsError(`weights file ${file}: ${where} has type ${JSON.stringify(dtype)}, expected little-endian float32`);
  }
  if (values.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new WeightsError(`weights file ${file}: ${where} has ${values.length} values for shape ${fmt(shape)}`);
  }
  return { name, shape, values };
}

function floats(value: unknown): Float32Array | null {
  if (value instanceof Float32Array) return value;
  if (value instanceof Float64Array || value instanceof Int32Array) return Float32Array.from(value);
  if (value instanceof BigInt64Array) return Float32Array.from(value, Number);
  if (typeof value === 'bigint' || typeof value === 'number') return Float32Array.of(Number(value));
  return null;
}

function hasNames(group: Group, name: string): boolean {
  const attrs = Object.keys(group.attrs);
  return attrs.includes(name) || attrs.includes(`${name}0`);
}

/**
 * A list of names stored as an attribute: fixed- or variable-length strings; an empty float array for
 * an empty list (h5py's encoding of `[]`); split into `name0`, `name1`, ... when too large for one
 * attribute (Keras does this past 64 KB). Undefined when absent.
 */
function readNames(group: Group, name: string, file: string, where: string): string[] | undefined {
  const attrs = group.attrs;
  const keys = [name];
  if (!(name in attrs)) {
    keys.length = 0;
    for (let i = 0; `${name}${i}` in attrs; i++) keys.push(`${name}${i}`);
    if (keys.length === 0) return undefined;
  }
  return keys.flatMap((key) => {
    const value: unknown = attrs[key]?.value;
    if (typeof value === 'string') return [value];
    if (Array.isArray(value) && value.every((v): v is string => typeof v === 'string')) return value;
    if (ArrayBuffer.isView(value) && value.byteLength === 0) return [];
    throw new WeightsError(
      `weights file ${file}: attribute ${key} of ${where} should be a list of names, found ${describeValue(value)}`,
    );
  });
}

/** The most specific line of an HDF5 error trace ("minor: Not an HDF5 file"), or the first line. */
function hdf5Reason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const minors = [...message.matchAll(/minor: (.+)/g)].map((m) => m[1]?.trim());
  return minors.at(-1) ?? message.split('\n')[0] ?? message;
}

function sameShape(a: readonly number[], b: readonly (number | null)[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function fmt(shape: readonly (number | null)[]): string {
  return `[${shape.join(',')}]`;
}

/** `block1_conv1/kernel` → `kernel`. */
function shortName(originalName: string): string {
  return originalName.slice(originalName.lastIndexOf('/') + 1);
}
