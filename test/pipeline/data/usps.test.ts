/**
 * USPS through its real code path: LIBSVM text bzip2-compressed by a real bzip2 (Python's bz2),
 * served by a fake fetch at the official URLs with the files' own MD5s, then decompressed, parsed
 * and verified like the downloaded files would be.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pino from 'pino';
import { ChecksumError, DataError } from '../../../src/errors.js';
import { bunzip2, parseLibsvmImages } from '../../../src/pipeline/data/libsvm.js';
import { loadDataset } from '../../../src/pipeline/data/registry.js';
import { USPS } from '../../../src/pipeline/data/usps.js';

const FORMAT = USPS.format;
/** A LIBSVM line: digit `d` (label d+1), pixel i = -1 + 2·((i + d) mod 7)/6. */
const line = (d: number) => `${d + 1} ${Array.from({ length: 256 }, (_, i) => `${i + 1}:${(-1 + (2 * ((i + d) % 7)) / 6).toFixed(6)}`).join(' ')}`;
const TRAIN = `${[0, 1, 2, 3, 9].map(line).join('\n')}\n`;
const TEST = `${[4, 5].map(line).join('\n')}\n`;
const bzip2 = async (text: string) => Buffer.from((await execa('python3', ['-c', 'import bz2,sys; sys.stdout.buffer.write(bz2.compress(sys.stdin.buffer.read()))'], { input: text, encoding: 'buffer' })).stdout);
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');
const logger = () => pino({ level: 'silent' });

describe('LIBSVM images', () => {
  it('maps [-1, 1] to 0-255, labels 1-10 to digits 0-9, row-major 16×16', () => {
    const set = parseLibsvmImages(TRAIN, FORMAT, 'usps');
    assert.equal(set.count, 5);
    assert.deepEqual(Array.from(set.labels), [0, 1, 2, 3, 9]);
    assert.equal(set.height * set.width, 256);
    assert.equal(set.images[0], 0, 'pixel 1 of digit 0 is -1');
    assert.equal(set.images[6], 255, 'pixel 7 of digit 0 is +1');
    assert.equal(set.images[3], 128, 'pixel 4 of digit 0 is 0');
    const sparse = parseLibsvmImages('3 1:1\n', FORMAT, 'usps');
    assert.equal(sparse.images[0], 255);
    assert.equal(sparse.images[1], 128, 'an absent index is 0 (mid-grey)');
  });
  it('names the file, the line and what was wrong', () => {
    assert.throws(() => parseLibsvmImages('11 1:0\n', FORMAT, 'usps.t'), (e: unknown) => e instanceof DataError && /usps\.t line 1: label "11" is not a class 0-9/.test(e.message));
    assert.throws(() => parseLibsvmImages('1 257:0\n', FORMAT, 'usps'), /feature "257:0" has no index 1-256/);
    assert.throws(() => parseLibsvmImages('1 1:3\n', FORMAT, 'usps'), /feature "1:3" is outside \[-1, 1\]/);
    assert.throws(() => parseLibsvmImages('', FORMAT, 'usps'), /holds no images/);
  });
  it('decompresses bzip2 and refuses a truncated stream', async () => {
    const packed = await bzip2(TRAIN);
    assert.equal(bunzip2(packed, 'usps.bz2').toString('latin1'), TRAIN);
    assert.throws(() => bunzip2(packed.subarray(0, packed.byteLength - 20), 'usps.bz2'), (e: unknown) => e instanceof DataError && /usps\.bz2 is not a valid bzip2 file/.test(e.message));
  });
});

describe('USPS dataset', () => {
  let dir: string;
  let train: Buffer;
  let test: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-usps-'));
    [train, test] = [await bzip2(TRAIN), await bzip2(TEST)];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const spec = () => ({
    ...USPS,
    files: {
      train: { ...USPS.files.train, checksum: { algorithm: 'md5' as const, hex: md5(train) } },
      test: { ...USPS.files.test, checksum: { algorithm: 'md5' as const, hex: md5(test) } },
    },
  });
  const served = (urls: string[]) => async (input: string | URL | Request) => {
    const url = String(input);
    urls.push(url);
    if (url === USPS.files.train.urls[0]) return new Response(train);
    if (url === USPS.files.test.urls[0]) return new Response(test);
    return new Response('not found', { status: 404 });
  };

  it('downloads from the official URLs, checks the MD5s, caches, and reads 16×16 digits', async () => {
    const urls: string[] = [];
    const cacheDir = join(dir, 'cache');
    const data = await loadDataset({ name: 'usps', cacheDir, fetch: served(urls), logger: logger(), registry: [spec()] });
    assert.deepEqual(urls.sort(), [USPS.files.test.urls[0], USPS.files.train.urls[0]].sort());
    assert.match(urls[0] ?? '', /^https:\/\/www\.csie\.ntu\.edu\.tw\/~cjlin\/libsvmtools\/datasets\/multiclass\/usps(\.t)?\.bz2$/);
    assert.equal(data.train.count, 5);
    assert.equal(data.test.count, 2);
    assert.equal(data.verified, true);
    assert.deepEqual(Array.from(data.test.labels), [4, 5]);
    const again = await loadDataset({ name: 'usps', cacheDir, fetch: served(urls), logger: logger(), registry: [spec()] });
    assert.equal(urls.length, 2, 'the second load reads the cache');
    assert.equal(again.fingerprint, data.fingerprint);
  });

  it('refuses a download whose MD5 is not the published one', async () => {
    const wrong = { ...spec(), files: { ...spec().files, train: { ...USPS.files.train } } };
    await assert.rejects(loadDataset({ name: 'usps', cacheDir: join(dir, 'cache2'), fetch: served([]), logger: logger(), registry: [wrong] }), ChecksumError);
  });

  it('reads a local data_dir with the decompressed files as the user\'s data (not verified)', async () => {
    const local = join(dir, 'local');
    await execa('mkdir', ['-p', local]);
    await writeFile(join(local, 'usps'), TRAIN);
    await writeFile(join(local, 'usps.t'), TEST);
    const data = await loadDataset({ name: 'usps', dataDir: local, fetch: served([]), logger: logger(), registry: [spec()] });
    assert.equal(data.train.count, 5);
    assert.equal(data.verified, false);
  });
});
