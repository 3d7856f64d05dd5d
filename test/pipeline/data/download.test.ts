import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ChecksumError, DataError, DownloadError } from '../../../src/errors.js';
import {
  checkLocalFile, ensureFile, verifyFile,
} from '../../../src/pipeline/download.js';
import { datasetCacheDir, kerasHome, kerasModelsDir } from '../../../src/pipeline/cache-dirs.js';
import type { Checksum, FetchFn } from '../../../src/pipeline/download.js';
import { md5Hex, sha256Hex } from '../../support/make-datasets.js';

const PAYLOAD = Buffer.from('x'.repeat(200_000) + 'the end');
const GOOD: Checksum = { algorithm: 'sha256', hex: sha256Hex(PAYLOAD) };
const URL_A = 'https://files.example.org/data/blob.bin';

interface Call { readonly url: string; readonly redirect: string | undefined }

/** A fake fetch serving fixed routes; records every call. */
function fakeFetch(routes: Record<string, () => Response>): { fetch: FetchFn; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchFn = async (input, init) => {
    calls.push({ url: input, redirect: init?.redirect });
    const route = routes[input];
    if (route === undefined) return new Response('not found', { status: 404, statusText: 'Not Found' });
    return route();
  };
  return { fetch, calls };
}

function memoryLogger(): { info: (m: string) => void; warn: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), lines };
}

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function cacheDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dl-'));
  dirs.push(dir);
  return dir;
}

/** A Progress that records what it was told. */
function recordingProgress() {
  const steps: Array<{ label: string; total: number; unit: string; advanced: number; ended: number }> = [];
  return {
    steps,
    progress: {
      start(label: string, total: number, unit: 'images' | 'bytes') {
        const step = { label, total, unit, advanced: 0, ended: 0 };
        steps.push(step);
        return { advance: (n: number) => void (step.advanced += n), end: () => void step.ended++ };
      },
    },
  };
}

describe('ensureFile', () => {
  it('reports a download as a step of bytes: its Content-Length, every byte, ended once; a cached file is no step', async () => {
    const dir = await cacheDir();
    const { fetch } = fakeFetch({ [URL_A]: () => new Response(PAYLOAD, { headers: { 'content-length': String(PAYLOAD.byteLength) } }) });
    const { steps, progress } = recordingProgress();
    await ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch, progress });
    assert.deepEqual(steps, [{ label: 'download blob.bin', total: PAYLOAD.byteLength, unit: 'bytes', advanced: PAYLOAD.byteLength, ended: 1 }]);
    await ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch, progress });
    assert.equal(steps.length, 1);
  });

  it('ends the step of a download that fails its checksum, total 0 without Content-Length', async () => {
    const dir = await cacheDir();
    const { fetch } = fakeFetch({ [URL_A]: () => new Response(PAYLOAD) });
    const { steps, progress } = recordingProgress();
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: { algorithm: 'sha256', hex: '00' }, fetch, progress }), ChecksumError);
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.total, 0);
    assert.equal(steps[0]?.ended, 1);
  });

  it('downloads, verifies and atomically places the file; then serves it from the cache', async () => {
    const dir = await cacheDir();
    const { fetch, calls } = fakeFetch({ [URL_A]: () => new Response(PAYLOAD) });
    const logger = memoryLogger();
    const path = await ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch, logger });
    assert.equal(path, join(dir, 'blob.bin'));
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.deepEqual(calls, [{ url: URL_A, redirect: 'manual' }]);
    assert.deepEqual(await readdir(dir), ['blob.bin'], 'no temp file left');

    const again = await ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch, logger });
    assert.equal(again, path);
    assert.equal(calls.length, 1, 'no second download');
    assert.ok(logger.lines.some((l) => l.startsWith('info using cached')));
  });

  it('accepts md5 checksums in any case', async () => {
    const dir = await cacheDir();
    const { fetch } = fakeFetch({ [URL_A]: () => new Response(PAYLOAD) });
    const checksum: Checksum = { algorithm: 'md5', hex: md5Hex(PAYLOAD).toUpperCase() };
    assert.equal(await ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum, fetch }), join(dir, 'b'));
  });

  it('on a checksum mismatch deletes the temp file and throws ChecksumError naming URL, expected and actual', async () => {
    const dir = await cacheDir();
    const { fetch } = fakeFetch({ [URL_A]: () => new Response('tampered') });
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch }), (e: unknown) => {
      assert.ok(e instanceof ChecksumError);
      assert.equal(e.code, 'ERR_CHECKSUM');
      assert.ok(e.message.includes(URL_A));
      assert.ok(e.message.includes(`expected ${GOOD.hex}`));
      assert.ok(e.message.includes(`has sha256 ${sha256Hex(Buffer.from('tampered'))}`));
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });

  it('turns HTTP errors into DownloadError with the status and URL', async () => {
    const dir = await cacheDir();
    const { fetch } = fakeFetch({});
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /GET https:\/\/files\.example\.org\/data\/blob\.bin failed: HTTP 404 Not Found/);
      return true;
    });
    assert.deepEqual(await readdir(dir), []);
  });

  it('turns network errors and a body that breaks off into DownloadError, leaving no file', async () => {
    const dir = await cacheDir();
    const refused: FetchFn = async () => { throw new TypeError('fetch failed', { cause: new Error('ECONNREFUSED') }); };
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum: GOOD, fetch: refused }),
      (e: unknown) => e instanceof DownloadError && /fetch failed \(ECONNREFUSED\)/.test(e.message));
    let pulls = 0;
    const broken: FetchFn = async () => new Response(new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(new Uint8Array(1000));
        else controller.error(new Error('socket hang up'));
      },
    }));
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum: GOOD, fetch: broken }),
      (e: unknown) => e instanceof DownloadError && /failed after 1000 bytes: socket hang up/.test(e.message));
    const short: FetchFn = async () => new Response(PAYLOAD.subarray(0, 10), { headers: { 'content-length': String(PAYLOAD.length) } });
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum: GOOD, fetch: short }),
      (e: unknown) => e instanceof DownloadError && /truncated: got 10 bytes, Content-Length says 200007/.test(e.message));
    assert.deepEqual(await readdir(dir), []);
  });

  it('re-verifies a cached file and replaces a corrupted one', async () => {
    const dir = await cacheDir();
    await writeFile(join(dir, 'blob.bin'), 'corrupt');
    const { fetch, calls } = fakeFetch({ [URL_A]: () => new Response(PAYLOAD) });
    const logger = memoryLogger();
    const path = await ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch, logger });
    assert.ok((await readFile(path)).equals(PAYLOAD));
    assert.equal(calls.length, 1);
    assert.ok(logger.lines.some((l) => l.startsWith(`warn cached ${path} has sha256 ${sha256Hex(Buffer.from('corrupt'))}`)));
  });

  it('deletes a corrupted cached file even when the download then fails', async () => {
    const dir = await cacheDir();
    await writeFile(join(dir, 'blob.bin'), 'corrupt');
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'blob.bin', cacheDir: dir, checksum: GOOD, fetch: fakeFetch({}).fetch }), DownloadError);
    assert.deepEqual(await readdir(dir), []);
  });

  it('follows redirects on the same host or to allowed hosts, over https only', async () => {
    const dir = await cacheDir();
    const moved = 'https://files.example.org/v2/blob.bin';
    const cdn = 'https://cdn.example.net/blob.bin';
    const { fetch, calls } = fakeFetch({
      [URL_A]: () => new Response(null, { status: 302, headers: { location: '/v2/blob.bin' } }),
      [moved]: () => new Response(null, { status: 301, headers: { location: cdn } }),
      [cdn]: () => new Response(PAYLOAD),
    });
    await ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum: GOOD, fetch, allowedHosts: ['cdn.example.net'] });
    assert.deepEqual(calls.map((c) => c.url), [URL_A, moved, cdn]);
    assert.ok(calls.every((c) => c.redirect === 'manual'));
  });

  it('refuses a redirect to another host, to http, and http URLs', async () => {
    const dir = await cacheDir();
    const { fetch, calls } = fakeFetch({
      [URL_A]: () => new Response(null, { status: 302, headers: { location: 'https://evil.example.com/blob.bin' } }),
      'https://files.example.org/plain': () => new Response(null, { status: 307, headers: { location: 'http://files.example.org/x' } }),
    });
    await assert.rejects(ensureFile({ url: URL_A, fileName: 'b', cacheDir: dir, checksum: GOOD, fetch }), (e: unknown) => {
      assert.ok(e instanceof DownloadError);
      assert.match(e.message, /redirected to https:\/\/evil\.example\.com\/blob\.bin, which is not allowed/);
      return true;
    });
    assert.ok(!calls.some((c) => c.url.includes('evil')), 'the other host is never contacted');
    await assert.rejects(ensureFile({ url: 'https://files.example.org/plain', fileName: 'b', cacheDir: dir, checksum: GOOD, fetch }),
      (e: unknown) => e instanceof DownloadError && /http:\/\/files\.example\.org\/x, which is not allowed/.test(e.message));
    await assert.rejects(ensureFile({ url: 'http://files.example.org/x', fileName: 'b', cacheDir: dir, checksum: GOOD, fetch }),
      (e: unknown) => e instanceof DownloadError && /only https URLs are allowed/.test(e.message));
    assert.deepEqual(await readdir(dir), []);
  });

  it('tries mirrors in order and reports all failures when every URL fails', async () => {
    const dir = await cacheDir();
    const mirror = 'https://mirror.example.org/blob.bin';
    const ok = fakeFetch({ [mirror]: () => new Response(PAYLOAD) });
    await ensureFile({ url: URL_A, mirrors: [mirror], fileName: 'b', cacheDir: dir, checksum: GOOD, fetch: ok.fetch });
    assert.deepEqual(ok.calls.map((c) => c.url), [URL_A, mirror]);

    const bad = fakeFetch({ [mirror]: () => new Response('wrong') });
    await assert.rejects(ensureFile({ url: URL_A, mirrors: [mirror], fileName: 'c', cacheDir: dir, checksum: GOOD, fetch: bad.fetch }),
      (e: unknown) => e instanceof ChecksumError && /all 2 URLs for c failed: .*HTTP 404.*; download of https:\/\/mirror/.test(e.message));
  });

  it('rejects file names with a directory part', async () => {
    const dir = await cacheDir();
    await assert.rejects(ensureFile({ url: URL_A, fileName: '../x', cacheDir: dir, checksum: GOOD, fetch: fakeFetch({}).fetch }), /must be a plain file name/);
  });
});

describe('verifyFile and checkLocalFile', () => {
  it('verifies, rejects mismatches and missing files', async () => {
    const dir = await cacheDir();
    const path = join(dir, 'w.h5');
    await writeFile(path, PAYLOAD);
    assert.deepEqual(await verifyFile(path, GOOD), { ok: true, actual: GOOD.hex });
    assert.equal((await verifyFile(path, { algorithm: 'md5', hex: '0'.repeat(32) })).ok, false);
    assert.equal(await checkLocalFile(path, GOOD, 'weights file'), path);
    assert.equal(await checkLocalFile(path), path);
    await assert.rejects(checkLocalFile(path, { algorithm: 'md5', hex: 'ab'.repeat(16) }, 'weights file'),
      (e: unknown) => e instanceof ChecksumError && e.message === `weights file ${path} has md5 ${md5Hex(PAYLOAD)}, expected ${'ab'.repeat(16)}`);
    await assert.rejects(checkLocalFile(join(dir, 'missing.h5'), undefined, 'weights file'),
      (e: unknown) => e instanceof DataError && /weights file .*missing\.h5 does not exist/.test(e.message));
    await assert.rejects(checkLocalFile(dir), (e: unknown) => e instanceof DataError && /is not a regular file/.test(e.message));
  });
});

describe('cache directories', () => {
  it('follow KERAS_HOME / HOME like Keras, and TRANSFERKIT_CACHE / XDG_CACHE_HOME for datasets', () => {
    assert.equal(kerasHome({ HOME: '/home/u' }), '/home/u/.keras');
    assert.equal(kerasModelsDir({ HOME: '/home/u', KERAS_HOME: '/k' }), '/k/models');
    assert.equal(datasetCacheDir({ HOME: '/home/u' }), '/home/u/.cache/transferkit/datasets');
    assert.equal(datasetCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg' }), '/xdg/transferkit/datasets');
    assert.equal(datasetCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/xdg', TRANSFERKIT_CACHE: '/c' }), '/c/datasets');
    assert.throws(() => kerasHome({}), (e: unknown) => e instanceof DownloadError && /HOME is not set/.test(e.message));
  });
});
