/**
 * Writes tiny datasets in the EXACT official file formats (IDX, CIFAR-10 binary, ustar tar.gz),
 * independently of the readers under test. Pixels follow a per-class pattern plus noise, so a model
 * can learn them: class c lights up cell c of a 4×4 grid, with a class-dependent colour.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { ImageSet } from '../../src/pipeline/data/types.js';

export const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
export const IDX_FILE_NAMES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

export interface SyntheticOptions {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
  readonly numClasses: number;
  readonly seed: number;
}

/** Labels cycle 0..numClasses-1 (balanced); pixels: class pattern + uniform noise in [-24, 24]. */
export function syntheticImageSet(o: SyntheticOptions): ImageSet {
  let state = o.seed >>> 0 || 1;
  const noise = (): number => {
    state ^= state << 13; state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5; state >>>= 0;
    return (state % 49) - 24;
  };
  const images = new Uint8Array(o.count * o.height * o.width * o.channels);
  const labels = new Int32Array(o.count);
  const cellH = Math.max(1, Math.floor(o.height / 4));
  const cellW = Math.max(1, Math.floor(o.width / 4));
  let p = 0;
  for (let i = 0; i < o.count; i++) {
    const c = i % o.numClasses;
    labels[i] = c;
    const row = Math.floor(c / 4) % 4;
    const col = c % 4;
    for (let y = 0; y < o.height; y++) {
      for (let x = 0; x < o.width; x++) {
        const lit = Math.floor(y / cellH) === row && Math.floor(x / cellW) === col;
        for (let k = 0; k < o.channels; k++) {
          const base = lit ? ((c + k) % 3 === 0 ? 230 : 160) : 30 + 10 * k;
          images[p++] = Math.min(255, Math.max(0, base + noise()));
        }
      }
    }
  }
  return { images, labels, count: o.count, height: o.height, width: o.width, channels: o.channels };
}

/** IDX bytes: 0x00 0x00 0x08 ndims, big-endian uint32 dims, data. */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

export function idxImagesBytes(set: ImageSet): Uint8Array {
  if (set.channels !== 1) throw new Error('IDX images are grayscale');
  return encodeIdx([set.count, set.height, set.width], set.images);
}

export function idxLabelsBytes(set: ImageSet): Uint8Array {
  return encodeIdx([set.count], Uint8Array.from(set.labels));
}

/** Writes the four MNIST-layout files into `dir`, gzipped (official names) or raw (names without .gz). */
export async function writeIdxDataset(dir: string, train: ImageSet, test: ImageSet, options: { gzip: boolean }): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, Uint8Array> = {
    [IDX_FILE_NAMES.trainImages]: idxImagesBytes(train),
    [IDX_FILE_NAMES.trainLabels]: idxLabelsBytes(train),
    [IDX_FILE_NAMES.testImages]: idxImagesBytes(test),
    [IDX_FILE_NAMES.testLabels]: idxLabelsBytes(test),
  };
  const paths: Record<string, string> = {};
  for (const [gzName, bytes] of Object.entries(files)) {
    const name = options.gzip ? gzName : gzName.replace(/\.gz$/, '');
    paths[gzName] = join(dir, name);
    await writeFile(paths[gzName], options.gzip ? gzipSync(bytes) : bytes);
  }
  return paths;
}

/** CIFAR-10 binary records: label byte, then R, G, B planes of 1024 bytes each. */
export function encodeCifarBatch(set: ImageSet): Uint8Array {
  if (set.height !== 32 || set.width !== 32 || set.channels !== 3) throw new Error('CIFAR images are 32×32×3');
  const out = new Uint8Array(set.count * 3073);
  for (let i = 0; i < set.count; i++) {
    const rec = i * 3073;
    out[rec] = set.labels[i] ?? 0;
    for (let p = 0; p < 1024; p++) {
      for (let k = 0; k < 3; k++) out[rec + 1 + k * 1024 + p] = set.images[i * 3072 + p * 3 + k] ?? 0;
    }
  }
  return out;
}

export interface TarInput {
  readonly path: string;
  readonly data?: Uint8Array;
  /** '0' regular file (default), '5' directory, 'x' pax header, '2' symlink. */
  readonly type?: '0' | '5' | 'x' | '2';
  readonly linkName?: string;
}

/** A ustar archive written field by field (POSIX.1-1988 header layout), padded to 10240-byte records. */
export function makeTar(entries: readonly TarInput[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const data = entry.data ?? new Uint8Array(0);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string): void => {
      header.write(value, offset, length, 'utf8');
    };
    const octal = (offset: number, length: number, value: number): void => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
    field(0, 100, entry.path);
    octal(100, 8, entry.type === '5' ? 0o755 : 0o644);
    octal(108, 8, 1000);
    octal(116, 8, 1000);
    octal(124, 12, data.length);
    octal(136, 12, 1_254_000_000);
    field(148, 8, '        ');
    field(156, 1, entry.type ?? '0');
    field(157, 100, entry.linkName ?? '');
    field(257, 6, 'ustar\0');
    field(263, 2, '00');
    field(265, 32, 'kriz');
    field(297, 32, 'kriz');
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
    blocks.push(header, data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  const total = blocks.reduce((n, b) => n + b.length, 0);
  blocks.push(new Uint8Array((10240 - (total % 10240)) % 10240));
  return Buffer.concat(blocks);
}

/** A pax extended-header body with one `key=value` record (length prefix counts itself). */
export function paxRecord(key: string, value: string): Uint8Array {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length++;
  return Buffer.from(`${length}${body}`);
}

export interface CifarFixture {
  readonly batches: readonly ImageSet[];
  readonly test: ImageSet;
  /** name → bytes of the six .bin files and batches.meta.txt, as in cifar-10-batches-bin/. */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/** Five training batches of `perBatch` images and a test batch of `testCount`. */
export function cifarFixture(perBatch: number, testCount: number, seed = 1): CifarFixture {
  const batches = [1, 2, 3, 4, 5].map((b) => syntheticImageSet({ count: perBatch, height: 32, width: 32, channels: 3, numClasses: 10, seed: seed * 100 + b }));
  const test = syntheticImageSet({ count: testCount, height: 32, width: 32, channels: 3, numClasses: 10, seed: seed * 100 + 9 });
  const files = new Map<string, Uint8Array>();
  files.set('batches.meta.txt', Buffer.from(`${CIFAR10_NAMES.join('\n')}\n\n`));
  batches.forEach((set, i) => files.set(`data_batch_${i + 1}.bin`, encodeCifarBatch(set)));
  files.set('test_batch.bin', encodeCifarBatch(test));
  return { batches, test, files };
}

/** `cifar-10-binary.tar.gz` bytes with the official member names (directory entry first). */
export function cifarArchive(fixture: CifarFixture): Uint8Array {
  const entries: TarInput[] = [{ path: 'cifar-10-batches-bin/', type: '5' }];
  for (const [name, data] of fixture.files) entries.push({ path: `cifar-10-batches-bin/${name}`, data });
  return gzipSync(makeTar(entries));
}

export async function writeCifarDir(dir: string, fixture: CifarFixture): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, data] of fixture.files) await writeFile(join(dir, name), data);
}

/** Concatenates image sets (same shape). */
export function concatSets(sets: readonly ImageSet[]): ImageSet {
  const [first] = sets;
  if (first === undefined) throw new Error('no sets');
  return {
    images: Uint8Array.from(Buffer.concat(sets.map((s) => s.images))),
    labels: Int32Array.from(sets.flatMap((s) => Array.from(s.labels))),
    count: sets.reduce((n, s) => n + s.count, 0),
    height: first.height,
    width: first.width,
    channels: first.channels,
  };
}

/** Byte equality for any Uint8Array views (Buffer or not). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

export function md5Hex(bytes: Uint8Array): string {
  return createHash('md5').update(bytes).digest('hex');
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
