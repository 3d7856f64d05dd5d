/**
 * The tensor side of torch's legacy format (see pth.ts): the `_rebuild_tensor_v2` calls of a state
 * dict, the storage section after the pickles, and gathering each (offset, size, stride) view into a
 * contiguous float32 array. Everything is checked before it is used.
 */
import { WeightsError } from '../../../errors.js';
import { type PickleValue, PickleCall, PickleDict, PickleGlobal, PicklePersistent, PickleTuple, describePickleValue } from './pickle-values.js';

export type TorchDtype = 'float32' | 'float64' | 'int64' | 'int32';

export interface StorageClass {
  readonly dtype: TorchDtype;
  readonly bytes: number;
  readonly read: (view: DataView, offset: number) => number;
}

/** The `torch.<Name>Storage` classes a state dict may use. */
export const STORAGE_CLASSES: ReadonlyMap<string, StorageClass> = new Map<string, StorageClass>([
  ['FloatStorage', { dtype: 'float32', bytes: 4, read: (v, o) => v.getFloat32(o, true) }],
  ['DoubleStorage', { dtype: 'float64', bytes: 8, read: (v, o) => v.getFloat64(o, true) }],
  ['LongStorage', { dtype: 'int64', bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) }],
  ['IntStorage', { dtype: 'int32', bytes: 4, read: (v, o) => v.getInt32(o, true) }],
]);

/** A tensor as the state dict describes it: a view of a storage. */
export interface TensorView {
  readonly name: string;
  readonly storageKey: string;
  readonly storageClass: StorageClass;
  /** The storage's element count, as the persistent id declares it. */
  readonly storageNumel: number;
  readonly offset: number;
  readonly size: readonly number[];
  readonly stride: readonly number[];
}

/** Where a storage's elements are in the file. */
export interface StorageData {
  readonly key: string;
  readonly storageClass: StorageClass;
  readonly numel: number;
  /** Byte offset of element 0. */
  readonly start: number;
}

/** Reads `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])` or `_rebuild_tensor(storage, offset, size, stride)`. */
export function tensorView(name: string, value: PickleValue, where: string): TensorView {
  const fail = (what: string): never => {
    throw new WeightsError(`${where}: tensor ${name} ${what}`);
  };
  if (!(value instanceof PickleCall) || value.callee.module !== 'torch._utils') {
    return fail(`is ${describePickleValue(value)}, expected a call of torch._utils._rebuild_tensor_v2`);
  }
  const args = value.args.items;
  const v2 = value.callee.name === '_rebuild_tensor_v2';
  if (v2 ? args.length !== 6 && args.length !== 7 : args.length !== 4) {
    fail(`is ${value.callee.qualifiedName} with ${args.length} arguments, expected ${v2 ? '6 or 7' : '4'}`);
  }
  const [storage, offset, size, stride, requiresGrad, hooks] = args;
  if (v2 && typeof requiresGrad !== 'boolean') fail(`has requires_grad ${describePickleValue(requiresGrad ?? null)}, expected a bool`);
  if (v2 && !(hooks instanceof PickleDict)) fail(`has backward hooks ${describePickleValue(hooks ?? null)}, expected an OrderedDict`);
  const pid = storage instanceof PicklePersistent ? storage.id : null;
  const [tag, cls, key, location, numel, viewMetadata] = pid instanceof PickleTuple ? pid.items : [];
  if (!(pid instanceof PickleTuple) || pid.items.length !== 6 || tag !== 'storage') {
    fail(`has storage ${describePickleValue(storage ?? null)}, expected the persistent id ('storage', class, key, location, numel, None)`);
  }
  const storageClass = cls instanceof PickleGlobal && cls.module === 'torch' ? STORAGE_CLASSES.get(cls.name) : undefined;
  if (storageClass === undefined) return fail(`has storage class ${describePickleValue(cls ?? null)}, expected one of torch.${[...STORAGE_CLASSES.keys()].join(', torch.')}`);
  if (typeof key !== 'string') return fail(`has storage key ${describePickleValue(key ?? null)}, expected a string`);
  if (typeof location !== 'string') fail(`has storage location ${describePickleValue(location ?? null)}, expected a string such as "cpu"`);
  if (viewMetadata !== null) fail(`is a view of storage ${key} in the pre-0.4 style (view metadata ${describePickleValue(viewMetadata ?? null)}), which is not supported`);
  return {
    name,
    storageKey: key,
    storageClass,
    storageNumel: count(numel ?? null, `storage ${key}'s element count`, fail),
    offset: count(offset ?? null, 'storage offset', fail),
    size: counts(size ?? null, 'size', fail),
    stride: counts(stride ?? null, 'stride', fail),
  };
}

/**
 * Reads the storage section at `start`: for each key in `keys`, an int64 LE element count equal to
 * the declared one, then the elements. The section must end exactly at the end of the file.
 */
export function readStorages(bytes: Uint8Array, start: number, keys: readonly string[], declared: ReadonlyMap<string, TensorView>, where: string): Map<string, StorageData> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const storages = new Map<string, StorageData>();
  let pos = start;
  for (const [i, key] of keys.entries()) {
    const tensor = declared.get(key);
    if (tensor === undefined) throw new WeightsError(`${where}: storage ${key} (number ${i + 1} of ${keys.length} in the key list) is used by no tensor`);
    if (storages.has(key)) throw new WeightsError(`${where}: storage ${key} is listed twice in the key list`);
    if (pos + 8 > bytes.byteLength) {
      throw new WeightsError(`${where} is truncated: storage ${key} (number ${i + 1} of ${keys.length}) should start at byte ${pos}, the file ends at byte ${bytes.byteLength}`);
    }
    const numel = view.getBigInt64(pos, true);
    if (numel !== BigInt(tensor.storageNumel)) {
      throw new WeightsError(`${where}: storage ${key} holds ${numel} elements, but the state dict declares ${tensor.storageNumel}`);
    }
    const end = pos + 8 + tensor.storageNumel * tensor.storageClass.bytes;
    if (end > bytes.byteLength) {
      throw new WeightsError(`${where} is truncated: storage ${key} (number ${i + 1} of ${keys.length}) needs bytes ${pos + 8}-${end - 1}, the file ends at byte ${bytes.byteLength}`);
    }
    storages.set(key, { key, storageClass: tensor.storageClass, numel: tensor.storageNumel, start: pos + 8 });
    pos = end;
  }
  const missing = [...declared.keys()].filter((key) => !storages.has(key));
  if (missing.length > 0) {
    throw new WeightsError(`${where}: the key list has ${keys.length} storages, but the state dict uses ${declared.size}; not listed: ${missing.slice(0, 5).join(', ')}`);
  }
  if (pos !== bytes.byteLength) {
    throw new WeightsError(`${where}: ${bytes.byteLength - pos} bytes follow the last storage (it ends at byte ${pos}), expected the end of the file`);
  }
  return storages;
}

/** Copies a tensor's view of its storage into a contiguous row-major float32 array, checking its bounds. */
export function gather(bytes: Uint8Array, tensor: TensorView, storage: StorageData, where: string): Float32Array {
  const { size, stride, offset } = tensor;
  if (size.length !== stride.length) {
    throw new WeightsError(`${where}: tensor ${tensor.name} has size (${size.join(', ')}) but stride (${stride.join(', ')}), expected as many strides as dimensions`);
  }
  const numel = size.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(numel)) throw new WeightsError(`${where}: tensor ${tensor.name} has size (${size.join(', ')}), which is too large`);
  const last = offset + size.reduce((sum, n, d) => sum + (n - 1) * (stride[d] ?? 0), 0);
  if (numel > 0 && last >= storage.numel) {
    throw new WeightsError(
      `${where}: tensor ${tensor.name} (offset ${offset}, size (${size.join(', ')}), stride (${stride.join(', ')})) reaches element ${last} of storage ${storage.key}, which has ${storage.numel} elements`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const { read, bytes: width } = storage.storageClass;
  const values = new Float32Array(numel);
  const index = new Array<number>(size.length).fill(0);
  let element = offset;
  for (let i = 0; i < numel; i++) {
    values[i] = read(view, storage.start + element * width);
    // Advance the row-major index; the last dimension moves fastest.
    for (let d = size.length - 1; d >= 0; d--) {
      const n = size[d] ?? 1;
      const s = stride[d] ?? 0;
      const next = (index[d] ?? 0) + 1;
      if (next < n) {
        index[d] = next;
        element += s;
        break;
      }
      index[d] = 0;
      element -= s * (n - 1);
    }
  }
  return values;
}

function count(value: PickleValue, what: string, fail: (what: string) => never): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return fail(`has ${what} ${describePickleValue(value)}, expected an integer ≥ 0`);
  return value;
}

function counts(value: PickleValue, what: string, fail: (what: string) => never): number[] {
  if (!(value instanceof PickleTuple)) return fail(`has ${what} ${describePickleValue(value)}, expected a tuple of integers`);
  return value.items.map((item, d) => count(item, `${what}[${d}]`, fail));
}
