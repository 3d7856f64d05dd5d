/**
 * Secure download + checksum + cache for dataset files and model weights.
 *
 * - Only https URLs are fetched. Redirects are followed by hand (at most 5) and only to https URLs
 *   on the original host or on `allowedHosts`.
 * - The body is streamed to a temp file in the cache directory while it is hashed; the temp file is
 *   renamed to its final name only when the checksum matches, so a partial or wrong file never sits
 *   under the final name. On any failure the temp file is deleted.
 * - A cached file is re-verified before every use; a cached file with the wrong checksum is deleted
 *   and downloaded again, never trusted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, constants, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { ChecksumError, DataError, DownloadError, ParamError } from '../errors.js';
import type { Progress } from './progress.js';

export type HashAlgorithm = 'md5' | 'sha256';

export interface Checksum {
  readonly algorithm: HashAlgorithm;
  /** Lower-case hex digest. */
  readonly hex: string;
}

/** The subset of `fetch` this module uses; `globalThis.fetch` satisfies it. */
export type FetchFn = (input: string, init?: RequestInit) => Promise<Response>;

/** Minimal logger; a pino logger satisfies it. */
export interface DownloadLogger {
  info(message: string): void;
  warn(message: string): void;
}

/** Environment variables used to resolve cache directories (`process.env` satisfies it). */
export type CacheEnv = Readonly<Record<string, string | undefined>>;

export interface EnsureFileOptions {
  /** https URL to download from. */
  readonly url: string;
  /** Further https URLs with the same file, tried in order when the previous one fails. */
  readonly mirrors?: readonly string[];
  /** Plain file name (no directory part) under `cacheDir`. */
  readonly fileName: string;
  readonly cacheDir: string;
  /**
   * The published checksum. `undefined` only where the publisher gives none (Keras's MobileNetV2
   * weights): the file is then taken as downloaded and the caller must check its content (structure
   * and shapes) and record its sha256.
   */
  readonly checksum: Checksum | undefined;
  readonly fetch: FetchFn;
  readonly logger?: DownloadLogger;
  /** Hosts, besides the URL's own, that a redirect may lead to. */
  readonly allowedHosts?: readonly string[];
  /** A bar while the body arrives (bytes, with rate and ETA). */
  readonly progress?: Progress;
}

const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** Hex digest of a file, streamed. Missing/unreadable file → DataError. */
export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      hash.update(chunk as Buffer);
    }
  } catch (error) {
    throw new DataError(`cannot read ${path}: ${errorText(error)}`, { cause: error });
  }
  return hash.digest('hex');
}

/** Hashes `path` and compares it with `checksum`. */
export async function verifyFile(path: string, checksum: Checksum): Promise<{ ok: boolean; actual: string }> {
  const actual = await hashFile(path, checksum.algorithm);
  return { ok: actual === checksum.hex.toLowerCase(), actual };
}

/**
 * A file the user gave (e.g. `--weights ./vgg16.h5`): with a known checksum it must match
 * (ChecksumError otherwise); without one it only has to exist and be a readable regular file.
 * Returns the absolute path.
 */
export async function checkLocalFile(path: string, checksum?: Checksum, what = 'file'): Promise<string> {
  const abs = resolve(path);
  try {
    const info = await stat(abs);
    if (!info.isFile()) throw new DataError(`${what} ${abs} is not a regular file`);
    await access(abs, constants.R_OK);
  } catch (error) {
    if (error instanceof DataError) throw error;
    throw new DataError(`${what} ${abs} does not exist or is not readable: ${errorText(error)}`, { cause: error });
  }
  if (checksum !== undefined) {
    const { ok, actual } = await verifyFile(abs, checksum);
    if (!ok) {
      throw new ChecksumError(
        `${what} ${abs} has ${checksum.algorithm} ${actual}, expected ${checksum.hex.toLowerCase()}`,
      );
    }
  }
  return abs;
}

/**
 * Returns the absolute path of `cacheDir/fileName` after making sure it has `checksum`:
 * a verified cached copy is used as is, otherwise the file is (re-)downloaded.
 */
export async function ensureFile(options: EnsureFileOptions): Promise<string> {
  const { fileName, checksum, logger } = options;
  if (fileName === '' || fileName !== basename(fileName) || fileName === '.' || fileName === '..') {
    throw new ParamError('fileName', `cache file name ${JSON.stringify(fileName)} must be a plain file name`);
  }
  if (checksum !== undefined && !/^[0-9a-f]+$/i.test(checksum.hex)) {
    throw new ParamError('checksum', `checksum for ${fileName} is not hex: ${JSON.stringify(checksum.hex)}`);
  }
  const cacheDir = resolve(options.cacheDir);
  const target = join(cacheDir, fileName);

  if (checksum === undefined && (await exists(target))) {
    logger?.warn(`using cached ${target}: no checksum is published for it; its content is checked when it is read`);
    return target;
  }
  if (checksum !== undefined && (await exists(target))) {
    const { ok, actual } = await verifyFile(target, checksum);
    if (ok) {
      logger?.info(`using cached ${target} (${checksum.algorithm} verified)`);
      return target;
    }
    logger?.warn(
      `cached ${target} has ${checksum.algorithm} ${actual}, expected ${checksum.hex.toLowerCase()}; deleting it and downloading again`,
    );
    await unlink(target);
  }

  await mkdir(cacheDir, { recursive: true });
  const urls = [options.url, ...(options.mirrors ?? [])];
  const failures: Error[] = [];
  for (const url of urls) {
    try {
      await downloadVerified(url, target, options);
      return target;
    } catch (error) {
      if (!(error instanceof DownloadError || error instanceof ChecksumError)) throw error;
      failures.push(error);
      if (failures.length < urls.length) logger?.warn(`${error.message}; trying the next URL`);
    }
  }
  const [first] = failures;
  if (failures.length === 1 && first !== undefined) throw first;
  const message = `all ${urls.length} URLs for ${fileName} failed: ${failures.map((e) => e.message).join('; ')}`;
  throw failures.some((e) => e instanceof ChecksumError) ? new ChecksumError(message) : new DownloadError(message);
}

async function downloadVerified(url: string, target: string, options: EnsureFileOptions): Promise<void> {
  const { logger } = options;
  const checksum = options.checksum ?? { algorithm: 'sha256', hex: '' };
  const started = Date.now();
  logger?.info(`downloading ${url} -> ${target}`);
  const response = await fetchFollowingRedirects(url, options);
  const body = response.body;
  if (body === null) throw new DownloadError(`GET ${url} returned no body (HTTP ${response.status})`);

  const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.part`;
  const hash = createHash(checksum.algorithm);
  let bytes = 0;
  let renamed = false;
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const task = options.progress?.start(`download ${options.fileName}`, Number.isFinite(length) ? length : 0, 'bytes');
  const handle = await open(temp, 'wx', 0o644).catch((error: unknown) => {
    task?.end();
    throw error;
  });
  try {
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        bytes += chunk.byteLength;
        for (let done = 0; done < chunk.byteLength;) {
          done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
        }
        task?.advance(chunk.byteLength);
      }
      await handle.sync();
    } catch (error) {
      throw new DownloadError(`download of ${url} failed after ${bytes} bytes: ${errorText(error)}`, { cause: error });
    } finally {
      task?.end();
      await handle.close();
    }
    const declared = Number(response.headers.get('content-length') ?? Number.NaN);
    const encoded = (response.headers.get('content-encoding') ?? 'identity') !== 'identity';
    if (Number.isFinite(declared) && !encoded && declared !== bytes) {
      throw new DownloadError(`download of ${url} is truncated: got ${bytes} bytes, Content-Length says ${declared}`);
    }
    const actual = hash.digest('hex');
    const expected = checksum.hex.toLowerCase();
    if (options.checksum !== undefined && actual !== expected) {
      throw new ChecksumError(
        `download of ${url} has ${checksum.algorithm} ${actual}, expected ${expected} (${bytes} bytes); the file was discarded`,
      );
    }
    await rename(temp, target);
    renamed = true;
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const verified = options.checksum === undefined ? `no published checksum, sha256 ${actual}` : `${checksum.algorithm} verified`;
    logger?.info(`downloaded ${url} (${bytes} bytes in ${seconds} s, ${verified})`);
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}

async function fetchFollowingRedirects(url: string, options: EnsureFileOptions): Promise<Response> {
  const original = parseHttpsUrl(url, url);
  const allowed = new Set([original.host, ...(options.allowedHosts ?? [])].map((h) => h.toLowerCase()));
  let current = original;
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await options.fetch(current.href, { redirect: 'manual' });
    } catch (error) {
      throw new DownloadError(`GET ${current.href} failed: ${errorText(error)}`, { cause: error });
    }
    if (REDIRECT_STATUSES.has(response.status)) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      if (location === null) {
        throw new DownloadError(`GET ${current.href} answered HTTP ${response.status} without a Location header`);
      }
      if (hop >= MAX_REDIRECTS) throw new DownloadError(`GET ${url} redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (error) {
        throw new DownloadError(`GET ${current.href} redirected to an invalid URL ${JSON.stringify(location)}`, { cause: error });
      }
      if (next.protocol !== 'https:' || !allowed.has(next.host.toLowerCase())) {
        throw new DownloadError(
          `GET ${current.href} redirected to ${next.href}, which is not allowed: redirects must stay on https and on ${[...allowed].join(', ')}`,
        );
      }
      current = next;
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const via = current.href === url ? '' : ` (redirected from ${url})`;
      throw new DownloadError(`GET ${current.href}${via} failed: HTTP ${response.status} ${response.statusText}`.trimEnd());
    }
    return response;
  }
}

function parseHttpsUrl(url: string, label: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    throw new DownloadError(`invalid download URL ${JSON.stringify(label)}`, { cause: error });
  }
  if (parsed.protocol !== 'https:') {
    throw new DownloadError(`refusing to download ${url}: only https URLs are allowed`);
  }
  return parsed;
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return `${error.message}${cause}`;
  }
  return String(error);
}
