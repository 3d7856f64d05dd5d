/**
 * Minimal tar (ustar / GNU / pax) reader over a stream of (already gunzipped) bytes.
 *
 * Yields regular files only; directories, links, devices and other entries are skipped.
 * Every header checksum is validated. Long names from pax (`path`) and GNU (`L`) headers are
 * honoured. Absolute paths and paths with a `..` segment make the whole archive invalid:
 * nothing is ever extracted to disk, but such an archive is not trusted either.
 */
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { DataError } from '../../errors.js';

export interface TarEntry {
  /** Normalized member path (no leading `./`). */
  readonly path: string;
  readonly data: Uint8Array;
}

const BLOCK = 512;

/** FIFO of byte chunks with exact-size reads that avoid copies when one chunk suffices. */
class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0;
  length = 0;

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  take(n: number): Uint8Array {
    const first = this.chunks[0];
    if (first !== undefined && first.length - this.head >= n) {
      const out = first.subarray(this.head, this.head + n);
      this.advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[0];
      if (chunk === undefined) throw new RangeError('ByteQueue underflow');
      const part = chunk.subarray(this.head, this.head + (n - filled));
      out.set(part, filled);
      filled += part.length;
      this.advance(part.length);
    }
    return out;
  }

  private advance(n: number): void {
    this.length -= n;
    this.head += n;
    const first = this.chunks[0];
    if (first !== undefined && this.head >= first.length) {
      this.chunks.shift();
      this.head = 0;
    }
  }
}

/** Parses a tar stream, yielding regular files with their full contents. */
export async function* tarEntries(chunks: AsyncIterable<Uint8Array>, source: string): AsyncGenerator<TarEntry> {
  const input = chunks[Symbol.asyncIterator]();
  const queue = new ByteQueue();
  let offset = 0;
  const read = async (n: number, what: string): Promise<Uint8Array> => {
    while (queue.length < n) {
      const next = await input.next();
      if (next.done === true) {
        throw new DataError(`tar archive ${source} is truncated: needed ${n} bytes for ${what} at offset ${offset}, ${queue.length} left`);
      }
      queue.push(next.value);
    }
    offset += n;
    return queue.take(n);
  };
  const atEnd = async (): Promise<boolean> => {
    while (queue.length === 0) {
      const next = await input.next();
      if (next.done === true) return true;
      queue.push(next.value);
    }
    return false;
  };

  let longPath: string | undefined;
  for (;;) {
    // A well-formed archive ends with two zero blocks; a missing end marker after a complete member is tolerated.
    if (await atEnd()) return;
    const headerOffset = offset;
    const header = await read(BLOCK, 'a header');
    if (header.every((b) => b === 0)) return;
    checkHeader(header, source, headerOffset);
    const size = parseSize(header, source, headerOffset);
    const type = String.fromCharCode(header[156] ?? 0);
    const data = await read(size, `a member of ${size} bytes`);
    const padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (padding > 0) await read(padding, 'padding');

    if (type === 'x' || type === 'L') {
      longPath = type === 'L' ? cString(data, 0, data.length) : paxPath(data, source) ?? longPath;
      continue;
    }
    if (type === 'g') continue;
    const path = normalizePath(longPath ?? headerPath(header), source);
    longPath = undefined;
    if (type === '0' || type === '\0' || type === '7') yield { path, data };
  }
}

/** Regular files of a `.tar.gz` file, streamed; `wanted` picks the members to keep in memory. */
export async function readTarGz(path: string, wanted: (member: string) => boolean): Promise<Map<string, Uint8Array>> {
  const gunzip = createGunzip({ chunkSize: 1 << 20 });
  const stream = pipeline(createReadStream(path, { highWaterMark: 1 << 20 }), gunzip, () => undefined);
  const members = new Map<string, Uint8Array>();
  try {
    for await (const entry of tarEntries(stream, path)) {
      if (wanted(entry.path)) members.set(entry.path, entry.data);
    }
  } catch (error) {
    if (error instanceof DataError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new DataError(`cannot read tar.gz archive ${path} (missing, truncated or not gzip): ${reason}`, { cause: error });
  }
  return members;
}

function checkHeader(header: Uint8Array, source: string, at: number): void {
  const stored = parseOctal(header, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i] ?? 0;
  if (stored === undefined || stored !== sum) {
    throw new DataError(
      `tar archive ${source} has a corrupt header at offset ${at}: checksum field ${stored ?? 'unreadable'}, computed ${sum}`,
    );
  }
}

function parseSize(header: Uint8Array, source: string, at: number): number {
  if (((header[124] ?? 0) & 0x80) !== 0) {
    throw new DataError(`tar archive ${source} has a member over 8 GiB (base-256 size) at offset ${at}: not supported`);
  }
  const size = parseOctal(header, 124, 12);
  if (size === undefined) throw new DataError(`tar archive ${source} has an unreadable size field at offset ${at}`);
  return size;
}

function parseOctal(bytes: Uint8Array, start: number, length: number): number | undefined {
  const text = cString(bytes, start, length).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : undefined;
}

function cString(bytes: Uint8Array, start: number, length: number): string {
  const field = bytes.subarray(start, start + length);
  const nul = field.indexOf(0);
  return Buffer.from(nul === -1 ? field : field.subarray(0, nul)).toString('utf8');
}

function headerPath(header: Uint8Array): string {
  const name = cString(header, 0, 100);
  const isUstar = cString(header, 257, 6).startsWith('ustar');
  const prefix = isUstar ? cString(header, 345, 155) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

/** The `path` record of a pax extended header (`"LEN path=VALUE\n"` records, LEN counted in bytes). */
function paxPath(data: Uint8Array, source: string): string | undefined {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let pos = 0;
  let found: string | undefined;
  while (pos < bytes.length && bytes[pos] !== 0) {
    const space = bytes.indexOf(0x20, pos);
    const length = space === -1 ? Number.NaN : Number.parseInt(bytes.toString('latin1', pos, space), 10);
    if (!Number.isSafeInteger(length) || length <= space - pos || pos + length > bytes.length) {
      throw new DataError(`tar archive ${source} has a malformed pax header`);
    }
    const record = bytes.toString('utf8', space + 1, pos + length - 1);
    if (record.startsWith('path=')) found = record.slice('path='.length);
    pos += length;
  }
  return found;
}

function normalizePath(raw: string, source: string): string {
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) {
    throw new DataError(`tar archive ${source} has an absolute member path ${JSON.stringify(raw)}; refusing the archive`);
  }
  const parts = raw.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw new DataError(`tar archive ${source} has a member path with "..": ${JSON.stringify(raw)}; refusing the archive`);
  }
  return parts.join('/');
}
