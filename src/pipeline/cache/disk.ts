/**
 * Cache files: a fixed 4 KiB JSON header (format, key, shape, dtype, sha256 of the data) followed by
 * the rows. Written to a unique temp file and renamed into place, so concurrent runs (sweep
 * children) never see a partial file; a file whose header, size or checksum is off is deleted and
 * rebuilt, never trusted. The folder is bounded: least recently used files go first.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CACHE_FORMAT } from './key.js';
import { bytesPerValue } from './store.js';

export const HEADER_BYTES = 4096;
const MAGIC = 'TKCACHE';

export const headerSchema = z.object({
  magic: z.literal(MAGIC),
  format: z.literal(CACHE_FORMAT),
  key: z.string(),
  count: z.number().int().nonnegative(),
  rowSize: z.number().int().positive(),
  dtype: z.enum(['float16', 'float32']),
  sha256: z.string().length(64),
  /** How long computing the rows took, for the "time saved" report on a hit. */
  computeSeconds: z.number().nonnegative(),
});
export type CacheHeader = z.infer<typeof headerSchema>;

export const cacheFile = (dir: string, key: string) => join(dir, `${key}.tkc`);

/** Writes rows produced chunk by chunk; returns the final path once complete. */
export async function writeCacheFile(
  dir: string,
  header: Omit<CacheHeader, 'magic' | 'format' | 'sha256' | 'computeSeconds'>,
  chunks: AsyncIterable<Uint8Array>,
  computeSeconds: () => number,
): Promise<string> {
  const path = cacheFile(dir, header.key);
  const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  const file = await open(temp, 'w');
  try {
    const hash = createHash('sha256');
    let position = HEADER_BYTES;
    for await (const chunk of chunks) {
      hash.update(chunk);
      await file.write(chunk, 0, chunk.byteLength, position);
      position += chunk.byteLength;
    }
    const full: CacheHeader = { magic: MAGIC, format: CACHE_FORMAT, ...header, sha256: hash.digest('hex'), computeSeconds: computeSeconds() };
    const text = Buffer.alloc(HEADER_BYTES, 0x20);
    text.write(JSON.stringify(full));
    await file.write(text, 0, HEADER_BYTES, 0);
    await file.sync();
    await file.close();
    await rename(temp, path);
    return path;
  } catch (error) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw error;
  }
}

export type ReadResult =
  | { readonly ok: true; readonly header: CacheHeader; readonly body?: Uint8Array }
  | { readonly ok: false; readonly reason: string };

/** The rows after the header, hashed on the way; read into one buffer when `keep`, so a hit reads the file once. */
async function hashBody(path: string, size: number, keep: boolean): Promise<{ sha256: string; body?: Uint8Array }> {
  const hash = createHash('sha256');
  if (!keep) {
    for await (const chunk of createReadStream(path, { start: HEADER_BYTES, highWaterMark: 1 << 22 })) hash.update(chunk);
    return { sha256: hash.digest('hex') };
  }
  const body = new Uint8Array(size); // own, aligned ArrayBuffer: the rows are viewed in place
  const file = await open(path, 'r');
  try {
    for (let offset = 0; offset < size; ) {
      const { bytesRead } = await file.read(body, offset, Math.min(1 << 22, size - offset), HEADER_BYTES + offset);
      if (bytesRead === 0) throw new Error(`cache file ${path} ended early`);
      hash.update(body.subarray(offset, offset + bytesRead));
      offset += bytesRead;
    }
  } finally {
    await file.close();
  }
  return { sha256: hash.digest('hex'), body };
}

/**
 * Checks a cache file completely (header, size, checksum); with `keep`, also returns its rows.
 * Missing → { ok: false, reason: 'missing' }.
 */
export async function checkCacheFile(path: string, key: string, keep = false): Promise<ReadResult> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return { ok: false, reason: 'missing' };
  }
  const file = await open(path, 'r');
  let raw: unknown;
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    await file.read(buf, 0, HEADER_BYTES, 0);
    raw = JSON.parse(buf.toString('utf8').trim());
  } catch {
    return { ok: false, reason: 'unreadable header' };
  } finally {
    await file.close();
  }
  const parsed = headerSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: 'header from another version or corrupt' };
  const header = parsed.data;
  if (header.key !== key) return { ok: false, reason: 'key mismatch' };
  const expected = HEADER_BYTES + header.count * header.rowSize * bytesPerValue(header.dtype);
  if (info.size !== expected) return { ok: false, reason: `size ${info.size}, expected ${expected} (partial or corrupt)` };
  const { sha256, body } = await hashBody(path, expected - HEADER_BYTES, keep);
  if (sha256 !== header.sha256) return { ok: false, reason: 'checksum mismatch (corrupt)' };
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
  return body === undefined ? { ok: true, header } : { ok: true, header, body };
}

/** Deletes least recently used cache files until the folder holds at most `maxBytes`. */
export async function evictToFit(dir: string, maxBytes: number, keep: ReadonlySet<string>): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.tkc'));
  const files = await Promise.all(names.map(async (n) => ({ path: join(dir, n), info: await stat(join(dir, n)) })));
  let total = files.reduce((sum, f) => sum + f.info.size, 0);
  const removed: string[] = [];
  for (const f of files.sort((a, b) => a.info.mtimeMs - b.info.mtimeMs)) {
    if (total <= maxBytes) break;
    if (keep.has(f.path)) continue;
    await rm(f.path, { force: true });
    total -= f.info.size;
    removed.push(f.path);
  }
  return removed;
}
