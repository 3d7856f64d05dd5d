/**
 * CIFAR-10 binary version (`cifar-10-binary.tar.gz`, https://www.cs.toronto.edu/~kriz/cifar.html).
 * Never the python version: that one is pickled, and pickles are never loaded.
 *
 * Each `.bin` file is a sequence of 3073-byte records: 1 label byte (0..9) followed by a 32×32
 * image in channel-planar order, R(1024) G(1024) B(1024), each plane row-major. Images are
 * converted to NHWC (interleaved RGB) uint8.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DataError } from '../../errors.js';
import { readTarGz } from './tar.js';
import type { ImageSet } from './types.js';

export const CIFAR10_ARCHIVE = 'cifar-10-binary.tar.gz';
export const CIFAR10_DIR = 'cifar-10-batches-bin';
export const CIFAR10_TRAIN_FILES = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'] as const;
export const CIFAR10_TEST_FILE = 'test_batch.bin';
export const CIFAR10_META_FILE = 'batches.meta.txt';

const SIDE = 32;
const PLANE = SIDE * SIDE;
const PIXELS = 3 * PLANE;
const RECORD = 1 + PIXELS;

export interface CifarBatchBytes {
  readonly bytes: Uint8Array;
  /** File path or `archive:member`, for messages. */
  readonly source: string;
}

export interface Cifar10Content {
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** sha256 of each `.bin` file's bytes, keyed by its base name (same from the archive or a directory). */
  readonly contentSha256: Readonly<Record<string, string>>;
  /** Lines of `batches.meta.txt` when present. */
  readonly metaClassNames?: readonly string[];
  /** The archive or directory read. */
  readonly source: string;
}

/** Decodes and concatenates CIFAR-10 binary batches into one NHWC ImageSet. */
export function decodeCifarBatches(batches: readonly CifarBatchBytes[], numClasses = 10): ImageSet {
  let count = 0;
  for (const { bytes, source } of batches) {
    if (bytes.length === 0 || bytes.length % RECORD !== 0) {
      throw new DataError(
        `CIFAR-10 file ${source} has ${bytes.length} bytes, expected a non-zero multiple of ${RECORD} (1 label byte + ${PIXELS} pixel bytes per image)`,
      );
    }
    count += bytes.length / RECORD;
  }
  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  let n = 0;
  for (const { bytes, source } of batches) {
    const records = bytes.length / RECORD;
    for (let r = 0; r < records; r++, n++) {
      const at = r * RECORD;
      const label = bytes[at] ?? 0;
      if (label >= numClasses) {
        throw new DataError(`CIFAR-10 file ${source} has label ${label} in record ${r}, expected 0..${numClasses - 1}`);
      }
      labels[n] = label;
      planarToInterleaved(bytes, at + 1, images, n * PIXELS);
    }
  }
  return { images, labels, count, height: SIDE, width: SIDE, channels: 3 };
}

/** One 32×32 image: R, G, B planes at `src[from..]` → interleaved RGB at `dst[to..]`. */
export function planarToInterleaved(src: Uint8Array, from: number, dst: Uint8Array, to: number): void {
  const g = from + PLANE;
  const b = from + 2 * PLANE;
  for (let p = 0, o = to; p < PLANE; p++, o += 3) {
    dst[o] = src[from + p] ?? 0;
    dst[o + 1] = src[g + p] ?? 0;
    dst[o + 2] = src[b + p] ?? 0;
  }
}

/**
 * Reads CIFAR-10 from `location`: the `.tar.gz` archive itself, a directory holding the archive,
 * a directory holding `cifar-10-batches-bin/`, or a directory holding the extracted `.bin` files.
 */
export async function readCifar10(location: string): Promise<Cifar10Content> {
  const path = resolve(location);
  if (await isFile(path)) return readFromArchive(path);
  if (!(await isDirectory(path))) throw new DataError(`CIFAR-10 location ${path} does not exist`);
  if (await isFile(join(path, CIFAR10_TEST_FILE)) || await isFile(join(path, CIFAR10_TRAIN_FILES[0]))) {
    return readFromDirectory(path);
  }
  if (await isDirectory(join(path, CIFAR10_DIR))) return readFromDirectory(join(path, CIFAR10_DIR));
  if (await isFile(join(path, CIFAR10_ARCHIVE))) return readFromArchive(join(path, CIFAR10_ARCHIVE));
  throw new DataError(
    `CIFAR-10 directory ${path} contains neither the extracted ${[...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE].join(', ')}, nor ${CIFAR10_DIR}/, nor ${CIFAR10_ARCHIVE}`,
  );
}

async function readFromDirectory(dir: string): Promise<Cifar10Content> {
  const names = [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE];
  const missing: string[] = [];
  for (const name of names) if (!(await isFile(join(dir, name)))) missing.push(name);
  if (missing.length > 0) throw new DataError(`CIFAR-10 directory ${dir} is missing ${missing.join(', ')}`);
  const files = new Map<string, Uint8Array>();
  for (const name of names) files.set(name, await readFile(join(dir, name)));
  const meta = await isFile(join(dir, CIFAR10_META_FILE)) ? await readFile(join(dir, CIFAR10_META_FILE)) : undefined;
  return decodeFiles(files, meta, dir, (name) => join(dir, name));
}

async function readFromArchive(archive: string): Promise<Cifar10Content> {
  const wanted = new Set([...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE, CIFAR10_META_FILE].map((n) => `${CIFAR10_DIR}/${n}`));
  const members = await readTarGz(archive, (member) => wanted.has(member));
  const files = new Map<string, Uint8Array>();
  const missing: string[] = [];
  for (const name of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FILE]) {
    const bytes = members.get(`${CIFAR10_DIR}/${name}`);
    if (bytes === undefined) missing.push(`${CIFAR10_DIR}/${name}`);
    else files.set(name, bytes);
  }
  if (missing.length > 0) throw new DataError(`CIFAR-10 archive ${archive} is missing ${missing.join(', ')}`);
  const meta = members.get(`${CIFAR10_DIR}/${CIFAR10_META_FILE}`);
  return decodeFiles(files, meta, archive, (name) => `${archive}:${CIFAR10_DIR}/${name}`);
}

function decodeFiles(
  files: ReadonlyMap<string, Uint8Array>,
  meta: Uint8Array | undefined,
  source: string,
  label: (name: string) => string,
): Cifar10Content {
  const batch = (name: string): CifarBatchBytes => {
    const bytes = files.get(name);
    if (bytes === undefined) throw new DataError(`CIFAR-10 source ${source} is missing ${name}`);
    return { bytes, source: label(name) };
  };
  const contentSha256: Record<string, string> = {};
  for (const [name, bytes] of files) contentSha256[name] = createHash('sha256').update(bytes).digest('hex');
  const train = decodeCifarBatches(CIFAR10_TRAIN_FILES.map(batch));
  const test = decodeCifarBatches([batch(CIFAR10_TEST_FILE)]);
  const base = { train, test, contentSha256, source };
  if (meta === undefined) return base;
  const metaClassNames = Buffer.from(meta).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  return { ...base, metaClassNames };
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
