/**
 * State dicts in torch's legacy (non-zip, before torch 1.6) `torch.save` format, read without torch
 * and without running anything from the file:
 *
 *   pickle: magic number 0x1950a86a20f9469cfc6c   pickle: protocol version 1001
 *   pickle: sys info {little_endian, ...}          pickle: the state dict (OrderedDict)
 *   pickle: list of storage keys                   then per key, in that order: int64 LE element
 *                                                  count + the raw little-endian elements
 *
 * In the state dict each tensor is `torch._utils._rebuild_tensor_v2(storage, offset, size, stride,
 * requires_grad, backward_hooks[, metadata])` (or the older `_rebuild_tensor` with four arguments),
 * the storage being a persistent id `('storage', torch.<Type>Storage, key, location, numel, None)`.
 * Tensors are gathered through their offset and strides (views such as transposed conv kernels are
 * common) into contiguous row-major float32 arrays.
 *
 * Storages: Float (float32), Double (float64), Long (int64) and Int (int32). Integer tensors such as
 * BatchNorm's `num_batches_tracked` are returned too, converted to float32, with `dtype` telling what
 * the file held; callers that want parameters only skip `dtype` int64/int32.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WeightsError } from '../../../errors.js';
import { readPickle } from './pickle.js';
import { type AllowedGlobal, type PickleValue, PickleDict, PickleList, describePickleValue } from './pickle-values.js';
import { STORAGE_CLASSES, type TensorView, type TorchDtype, gather, readStorages, tensorView } from './storages.js';

export type { TorchDtype } from './storages.js';

export interface TorchTensor {
  /** The tensor's size; `[]` for a scalar. */
  readonly shape: readonly number[];
  /** Row-major, contiguous; integer and float64 tensors converted to float32. */
  readonly values: Float32Array;
  /** The element type of the tensor's storage in the file. */
  readonly dtype: TorchDtype;
}

/** The magic number torch's legacy format starts with. */
export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
export const LEGACY_PROTOCOL_VERSION = 1001;

const STATE_DICT_GLOBALS: readonly AllowedGlobal[] = [
  { module: 'collections', name: 'OrderedDict', use: 'dict' },
  { module: 'torch._utils', name: '_rebuild_tensor_v2', use: 'call' },
  { module: 'torch._utils', name: '_rebuild_tensor', use: 'call' },
  ...[...STORAGE_CLASSES.keys()].map((name): AllowedGlobal => ({ module: 'torch', name, use: 'reference' })),
];

/** Reads a legacy `.pth` state dict: tensor name → tensor, in the file's order. */
export async function readTorchLegacyStateDict(path: string): Promise<Map<string, TorchTensor>> {
  const file = resolve(path);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (cause) {
    const code = cause instanceof Error && 'code' in cause ? cause.code : undefined;
    const why = code === 'ENOENT' ? 'does not exist' : `cannot be read (${cause instanceof Error ? cause.message : String(cause)})`;
    throw new WeightsError(`weights file ${file} ${why}`, { cause });
  }
  return parseTorchLegacyStateDict(bytes, file);
}

/** Parses the bytes of a legacy `.pth` state dict; `file` is named in error messages. */
export function parseTorchLegacyStateDict(bytes: Uint8Array, file: string): Map<string, TorchTensor> {
  const source = `weights file ${file}`;
  if (bytes.byteLength >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    throw new WeightsError(`${source} is in torch's zip format (torch.save since 1.6), not the legacy format this reader supports`);
  }
  const plain = { globals: [], persistentIds: false, source };
  let magic;
  try {
    magic = readPickle(bytes, 0, plain);
  } catch (cause) {
    throw new WeightsError(`${source} is not a torch legacy .pth file: it does not start with a pickled magic number (${messageOf(cause)})`, { cause });
  }
  if (magic.value !== LEGACY_MAGIC) {
    throw new WeightsError(`${source} starts with ${describePickleValue(magic.value)}, expected torch's legacy magic number 0x${LEGACY_MAGIC.toString(16)}`);
  }
  const protocol = readPickle(bytes, magic.end, plain);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    throw new WeightsError(`${source} has protocol version ${describePickleValue(protocol.value)}, expected ${LEGACY_PROTOCOL_VERSION}`);
  }
  const sysInfo = readPickle(bytes, protocol.end, plain);
  if (!(sysInfo.value instanceof PickleDict)) {
    throw new WeightsError(`${source}: the sys info pickle is ${describePickleValue(sysInfo.value)}, expected a dict`);
  }
  const littleEndian = sysInfo.value.entries.get('little_endian');
  if (littleEndian !== true) {
    throw new WeightsError(`${source}: sys info says little_endian is ${describePickleValue(littleEndian ?? null)}; only little-endian files are supported`);
  }
  const stateDict = readPickle(bytes, sysInfo.end, { globals: STATE_DICT_GLOBALS, persistentIds: true, source });
  if (!(stateDict.value instanceof PickleDict)) {
    throw new WeightsError(`${source}: the state dict is ${describePickleValue(stateDict.value)}, expected an OrderedDict of tensors`);
  }
  const views: TensorView[] = [];
  const declared = new Map<string, TensorView>();
  for (const [name, value] of stateDict.value.entries) {
    if (typeof name !== 'string') throw new WeightsError(`${source}: state dict key ${describePickleValue(name)} is not a string`);
    const view = tensorView(name, value, source);
    const first = declared.get(view.storageKey);
    if (first === undefined) declared.set(view.storageKey, view);
    else if (first.storageClass !== view.storageClass || first.storageNumel !== view.storageNumel) {
      throw new WeightsError(
        `${source}: tensors ${first.name} and ${name} declare storage ${view.storageKey} differently (${first.storageClass.dtype} × ${first.storageNumel}, ${view.storageClass.dtype} × ${view.storageNumel})`,
      );
    }
    views.push(view);
  }
  const keysPickle = readPickle(bytes, stateDict.end, plain);
  const storages = readStorages(bytes, keysPickle.end, storageKeys(keysPickle.value, source), declared, source);

  const tensors = new Map<string, TorchTensor>();
  for (const view of views) {
    const storage = storages.get(view.storageKey);
    if (storage === undefined) throw new Error(`parseTorchLegacyStateDict: storage ${view.storageKey} was not read`);
    tensors.set(view.name, { shape: view.size, values: gather(bytes, view, storage, source), dtype: storage.storageClass.dtype });
  }
  return tensors;
}

function storageKeys(value: PickleValue, source: string): string[] {
  if (!(value instanceof PickleList)) {
    throw new WeightsError(`${source}: the storage key list is ${describePickleValue(value)}, expected a list of strings`);
  }
  const keys: string[] = [];
  for (const key of value.items) {
    if (typeof key !== 'string') throw new WeightsError(`${source}: storage key ${describePickleValue(key)} is not a string`);
    keys.push(key);
  }
  return keys;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
