/**
 * Writes small files in torch's legacy `.pth` format, opcode by opcode as torch's `_legacy_save`
 * pickles them (protocol 2), so the reader can be tested on views, offsets, dtypes and on damaged
 * files. The int tests read the same files with Python's pickle + numpy to check this writer.
 */

/** Builds a pickle from opcodes. */
export class PickleWriter {
  private readonly parts: Buffer[] = [];

  raw(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  proto(version = 2): this { return this.raw(0x80, version); }
  stop(): this { return this.raw(0x2e); }
  mark(): this { return this.raw(0x28); }
  tuple(): this { return this.raw(0x74); }
  emptyTuple(): this { return this.raw(0x29); }
  emptyDict(): this { return this.raw(0x7d); }
  emptyList(): this { return this.raw(0x5d); }
  setitems(): this { return this.raw(0x75); }
  appends(): this { return this.raw(0x65); }
  reduce(): this { return this.raw(0x52); }
  build(): this { return this.raw(0x62); }
  persid(): this { return this.raw(0x51); }
  none(): this { return this.raw(0x4e); }
  bool(value: boolean): this { return this.raw(value ? 0x88 : 0x89); }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'utf8'));
    return this;
  }
  str(value: string): this {
    const text = Buffer.from(value, 'utf8');
    const head = Buffer.alloc(5);
    head.writeUInt8(0x58, 0);
    head.writeUInt32LE(text.byteLength, 1);
    this.parts.push(head, text);
    return this;
  }
  int(value: number | bigint): this {
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 256) return this.raw(0x4b, value);
    if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < 65536) return this.raw(0x4d, value & 0xff, value >> 8);
    if (typeof value === 'number' && Number.isInteger(value) && value >= -(2 ** 31) && value < 2 ** 31) {
      const b = Buffer.alloc(5);
      b.writeUInt8(0x4a, 0);
      b.writeInt32LE(value, 1);
      this.parts.push(b);
      return this;
    }
    // LONG1: little-endian two's complement, as short as Python writes it.
    let n = BigInt(value);
    const bytes: number[] = [];
    for (;;) {
      bytes.push(Number(n & 0xffn));
      n >>= 8n;
      const sign = ((bytes.at(-1) ?? 0) & 0x80) !== 0;
      if ((n === 0n && !sign) || (n === -1n && sign)) break;
    }
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  ints(values: readonly number[]): this {
    this.mark();
    for (const v of values) this.int(v);
    return this.tuple();
  }
  toBuffer(): Buffer {
    return Buffer.concat(this.parts);
  }
}

export type StorageType = 'FloatStorage' | 'DoubleStorage' | 'LongStorage' | 'IntStorage' | 'HalfStorage';

export interface FakeStorage {
  readonly key: string;
  readonly type: StorageType;
  readonly elements: readonly number[];
  /** The element count the persistent id declares (default: elements.length). */
  readonly declaredNumel?: number;
  /** The element count written before the data (default: elements.length). */
  readonly writtenNumel?: number;
}

export interface FakeTensor {
  readonly name: string;
  readonly storage: string;
  readonly offset?: number;
  readonly size: readonly number[];
  /** Default: contiguous. */
  readonly stride?: readonly number[];
  /** Declare the storage with another type and count than the storage's own. */
  readonly declare?: { readonly type: StorageType; readonly numel: number };
}

export interface FakePth {
  readonly storages: readonly FakeStorage[];
  readonly tensors: readonly FakeTensor[];
  /** The storage key list (default: the storages' keys in order). */
  readonly keys?: readonly string[];
  readonly magic?: bigint;
  readonly protocolVersion?: number;
  readonly littleEndian?: boolean;
  /** Write `_metadata` as the OrderedDict's state (BUILD), as torch does for a module's state dict. */
  readonly metadata?: boolean;
  /** Extra opcodes written in the state dict right after `OrderedDict()` (before its items). */
  readonly inject?: (p: PickleWriter) => void;
  readonly trailing?: Buffer;
}

export const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

export function contiguousStride(size: readonly number[]): number[] {
  const stride = new Array<number>(size.length).fill(1);
  for (let d = size.length - 2; d >= 0; d--) stride[d] = (stride[d + 1] ?? 1) * (size[d + 1] ?? 1);
  return stride;
}

export function writeLegacyPth(spec: FakePth): Buffer {
  const magic = new PickleWriter().proto().int(spec.magic ?? LEGACY_MAGIC).stop();
  const protocol = new PickleWriter().proto().int(spec.protocolVersion ?? 1001).stop();
  const sysInfo = new PickleWriter().proto().emptyDict().mark()
    .str('protocol_version').int(1001).str('little_endian').bool(spec.littleEndian ?? true)
    .str('type_sizes').emptyDict().mark().str('short').int(2).str('int').int(4).str('long').int(4).setitems()
    .setitems().stop();

  const state = new PickleWriter().proto().global('collections', 'OrderedDict').emptyTuple().reduce();
  spec.inject?.(state);
  state.mark();
  for (const t of spec.tensors) {
    const storage = spec.storages.find((s) => s.key === t.storage);
    if (storage === undefined) throw new Error(`writeLegacyPth: no storage ${t.storage}`);
    state.str(t.name).global('torch._utils', '_rebuild_tensor_v2').mark()
      .mark().str('storage').global('torch', t.declare?.type ?? storage.type).str(storage.key).str('cpu').int(t.declare?.numel ?? storage.declaredNumel ?? storage.elements.length).none().tuple().persid()
      .int(t.offset ?? 0).ints(t.size).ints(t.stride ?? contiguousStride(t.size)).bool(false)
      .global('collections', 'OrderedDict').emptyTuple().reduce()
      .tuple().reduce();
  }
  state.setitems();
  if (spec.metadata === true) {
    state.emptyDict().str('_metadata').global('collections', 'OrderedDict').emptyTuple().reduce()
      .mark().str('').emptyDict().str('version').int(1).raw(0x73).setitems().raw(0x73).build();
  }
  state.stop();

  const keys = new PickleWriter().proto().emptyList().mark();
  for (const key of spec.keys ?? spec.storages.map((s) => s.key)) keys.str(key);
  keys.appends().stop();

  const data: Buffer[] = [];
  for (const key of spec.keys ?? spec.storages.map((s) => s.key)) {
    const storage = spec.storages.find((s) => s.key === key);
    if (storage === undefined) continue;
    const count = Buffer.alloc(8);
    count.writeBigInt64LE(BigInt(storage.writtenNumel ?? storage.elements.length));
    data.push(count, storageBytes(storage));
  }
  return Buffer.concat([magic.toBuffer(), protocol.toBuffer(), sysInfo.toBuffer(), state.toBuffer(), keys.toBuffer(), ...data, spec.trailing ?? Buffer.alloc(0)]);
}

function storageBytes(storage: FakeStorage): Buffer {
  const { elements, type } = storage;
  const width = type === 'DoubleStorage' || type === 'LongStorage' ? 8 : type === 'HalfStorage' ? 2 : 4;
  const out = Buffer.alloc(elements.length * width);
  elements.forEach((v, i) => {
    if (type === 'FloatStorage') out.writeFloatLE(v, i * 4);
    else if (type === 'DoubleStorage') out.writeDoubleLE(v, i * 8);
    else if (type === 'LongStorage') out.writeBigInt64LE(BigInt(v), i * 8);
    else if (type === 'IntStorage') out.writeInt32LE(v, i * 4);
    else out.writeUInt16LE(0, i * 2);
  });
  return out;
}

const iota = (n: number, scale = 1) => Array.from({ length: n }, (_, i) => i * scale);

/** A conv kernel stored transposed (as the real file's are), a BN layer sharing one storage at offsets, a scalar count, and dtypes. */
export const SAMPLE: FakePth = {
  storages: [
    { key: '7', type: 'FloatStorage', elements: iota(24, 0.5) },
    { key: '3', type: 'FloatStorage', elements: iota(10, -1.25).map((x) => 1 + x) },
    { key: '11', type: 'LongStorage', elements: [12345] },
    { key: '5', type: 'DoubleStorage', elements: [0.1, 0.2, 0.3] },
    { key: '9', type: 'IntStorage', elements: [-7, 8] },
  ],
  tensors: [
    // a [2 out, 3 in, 2 kh, 2 kw] kernel whose storage is laid out [kh, kw, in, out] (TF's HWIO): stride (1, 2, 12, 6)
    { name: 'conv.weight', storage: '7', size: [2, 3, 2, 2], stride: [1, 2, 12, 6] },
    { name: 'bn.weight', storage: '3', offset: 0, size: [4] },
    { name: 'bn.bias', storage: '3', offset: 4, size: [4] },
    { name: 'bn.every_other', storage: '3', offset: 1, size: [2, 2], stride: [4, 2] },
    { name: 'bn.num_batches_tracked', storage: '11', size: [] },
    { name: 'fc.double', storage: '5', size: [3] },
    { name: 'fc.int', storage: '9', offset: 1, size: [1] },
    { name: 'fc.empty', storage: '9', offset: 2, size: [0, 5] },
  ],
  metadata: true,
};
