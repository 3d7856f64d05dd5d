/**
 * IDX reader (the MNIST / Fashion-MNIST file format), gzip-compressed or raw.
 *
 * Layout: 2 zero bytes, a type byte (only 0x08 = unsigned byte is supported), a byte with the
 * number of dimensions, then one big-endian uint32 per dimension, then the data, row-major.
 * Labels are magic 0x00000801 (N), images 0x00000803 (N × rows × cols).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataError } from '../../errors.js';
import type { ImageSet } from './types.js';

const gunzipAsync = promisify(gunzip);

export interface IdxArray {
  readonly dims: readonly number[];
  /** View into the file's (decompressed) bytes; no copy. */
  readonly data: Uint8Array;
}

const TYPE_NAMES: Readonly<Record<number, string>> = {
  0x08: 'unsigned byte', 0x09: 'signed byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double',
};

/** Parses an uncompressed IDX buffer of unsigned bytes with `expectedDims` dimensions. */
export function parseIdx(bytes: Uint8Array, source: string, expectedDims: number): IdxArray {
  const magic = expectedDims === 1 ? '0x00000801' : `0x0000080${expectedDims}`;
  if (bytes.length < 4) {
    throw new DataError(`IDX file ${source} has ${bytes.length} bytes, too short for the 4-byte magic number`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = `0x${view.getUint32(0).toString(16).padStart(8, '0')}`;
  const type = bytes[2] ?? 0;
  const ndims = bytes[3] ?? 0;
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new DataError(`IDX file ${source} starts with ${found}, expected magic ${magic}: not an IDX file`);
  }
  if (type !== 0x08) {
    const name = TYPE_NAMES[type] ?? 'unknown';
    throw new DataError(`IDX file ${source} has data type 0x${type.toString(16).padStart(2, '0')} (${name}), expected 0x08 (unsigned byte)`);
  }
  if (ndims !== expectedDims) {
    throw new DataError(`IDX file ${source} has magic ${found} (${ndims} dimensions), expected ${magic} (${expectedDims} dimensions)`);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError(`IDX file ${source} is truncated: ${bytes.length} bytes, its header alone needs ${headerBytes}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  const actual = bytes.length - headerBytes;
  if (actual !== dataBytes) {
    const what = actual < dataBytes ? 'is truncated' : 'is too long';
    throw new DataError(
      `IDX file ${source} ${what}: its header says ${dims.join('×')} = ${dataBytes} data bytes, found ${actual} (file has ${bytes.length} bytes)`,
    );
  }
  // A plain Uint8Array view (not a Buffer, whose slice() does not copy): no copy of the pixels.
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, dataBytes) };
}

export interface IdxFileContent {
  /** The uncompressed IDX bytes. */
  readonly bytes: Uint8Array;
  /** sha256 of the uncompressed IDX bytes: the same for the .gz and the raw file. */
  readonly contentSha256: string;
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic (1f 8b). */
export async function readIdxFile(path: string): Promise<IdxFileContent> {
  let raw: Uint8Array;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw new DataError(`cannot read IDX file ${path}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  let bytes = raw;
  if (raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = await gunzipAsync(raw);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new DataError(`IDX file ${path} is not a valid gzip file (truncated or corrupt): ${reason}`, { cause: error });
    }
  }
  return { bytes, contentSha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Images (N×H×W unsigned bytes) and labels (N) from two parsed IDX files → a grayscale ImageSet. */
export function idxImageSet(
  images: { readonly bytes: Uint8Array; readonly source: string },
  labels: { readonly bytes: Uint8Array; readonly source: string },
  numClasses: number,
): ImageSet {
  const img = parseIdx(images.bytes, images.source, 3);
  const lab = parseIdx(labels.bytes, labels.source, 1);
  const [count = 0, height = 0, width = 0] = img.dims;
  const [labelCount = 0] = lab.dims;
  if (count !== labelCount) {
    throw new DataError(`IDX image file ${images.source} has ${count} images but label file ${labels.source} has ${labelCount} labels`);
  }
  const out = new Int32Array(labelCount);
  for (let i = 0; i < labelCount; i++) {
    const label = lab.data[i] ?? 0;
    if (label >= numClasses) {
      throw new DataError(`IDX label file ${labels.source} has label ${label} at index ${i}, expected 0..${numClasses - 1}`);
    }
    out[i] = label;
  }
  return { images: img.data, labels: out, count, height, width, channels: 1 };
}

