/**
 * The registry against real files on disk: tiny datasets in the exact official formats, served by a
 * fake fetch (the registry's real checksums cannot match tiny files, so the entries are injected).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ChecksumError, DataError, ParamError } from '../../../src/errors.js';
import { CIFAR10, FASHION_MNIST, MNIST, datasetNames, loadDataset } from '../../../src/pipeline/data/registry.js';
import type { DatasetSpec, IdxDatasetSpec, RemoteFile } from '../../../src/pipeline/data/registry.js';
import type { FetchFn } from '../../../src/pipeline/download.js';
import {
  IDX_FILE_NAMES, cifarArchive, cifarFixture, concatSets, encodeIdx, idxImagesBytes, idxLabelsBytes, md5Hex,
  sameBytes, sha256Hex, syntheticImageSet, writeCifarDir, writeIdxDataset,
} from '../../support/make-datasets.js';
import { gzipSync } from 'node:zlib';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
async function tmp(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'registry-'));
  dirs.push(dir);
  return dir;
}

function logger(): { info: (m: string) => void; warn: (m: string) => void; lines: string[] } {
  const lines: string[] = [];
  return { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), lines };
}

/** Serves `files` (URL → bytes) and counts calls. */
function serve(files: ReadonlyMap<string, Uint8Array>): { fetch: FetchFn; calls: string[] } {
  const calls: string[] = [];
  const fetch: FetchFn = async (url) => {
    calls.push(url);
    const body = files.get(url);
    return body === undefined ? new Response('no', { status: 404 }) : new Response(body);
  };
  return { fetch, calls };
}

const noNetwork: FetchFn = async (url) => {
  throw new Error(`unexpected download of ${url}`);
};

const withChecksum = (file: RemoteFile, bytes: Uint8Array, contentSha256?: string): RemoteFile => ({
  fileName: file.fileName,
  urls: file.urls,
  checksum: { algorithm: 'md5', hex: md5Hex(bytes) },
  ...(contentSha256 === undefined ? {} : { contentSha256 }),
});

describe('cifar10 through the registry', () => {
  const fixture = cifarFixture(4, 6);
  const archive = cifarArchive(fixture);
  const url = CIFAR10.files.archive.urls[0] ?? '';
  const registry: DatasetSpec[] = [{ ...CIFAR10, files: { archive: withChecksum(CIFAR10.files.archive, archive) } }];

  it('downloads the archive, verifies it, decodes it and then serves it from the cache', async () => {
    const cacheDir = await tmp();
    const { fetch, calls } = serve(new Map([[url, archive]]));
    const log = logger();
    const data = await loadDataset({ name: 'cifar10', cacheDir, fetch, logger: log, registry });
    assert.deepEqual(calls, [url]);
    assert.equal(data.name, 'cifar10');
    assert.deepEqual(data.classNames, CIFAR10.classNames);
    assert.equal(data.source, join(cacheDir, 'cifar10', 'cifar-10-binary.tar.gz'));
    assert.equal(data.verified, true);
    assert.equal(data.train.count, 20);
    assert.equal(data.test.count, 6);
    assert.ok(sameBytes(data.train.images, concatSets(fixture.batches).images));
    assert.ok(sameBytes(data.test.images, fixture.test.images));
    assert.deepEqual(Array.from(data.test.labels), Array.from(fixture.test.labels));
    assert.match(data.fingerprint, /^[0-9a-f]{64}$/);

    const again = await loadDataset({ name: 'cifar10', cacheDir, fetch: noNetwork, logger: log, registry });
    assert.equal(again.fingerprint, data.fingerprint);

    // A corrupted cache entry is replaced by a fresh download, never used.
    await writeFile(join(cacheDir, 'cifar10', 'cifar-10-binary.tar.gz'), archive.subarray(0, 1000));
    const third = await loadDataset({ name: 'cifar10', cacheDir, fetch, logger: log, registry });
    assert.equal(calls.length, 2);
    assert.equal(third.fingerprint, data.fingerprint);
    assert.ok(log.lines.some((l) => l.startsWith('warn cached') && l.includes('deleting it')));
  });

  it('refuses a download that does not have the registry checksum and leaves nothing in the cache', async () => {
    const cacheDir = await tmp();
    const { fetch } = serve(new Map([[url, archive]]));
    await assert.rejects(loadDataset({ name: 'cifar10', cacheDir, fetch, logger: logger() }), (e: unknown) =>
      e instanceof ChecksumError && e.message.includes(`expected ${CIFAR10.files.archive.checksum.hex}`));
    assert.deepEqual(await readdir(join(cacheDir, 'cifar10')), []);
  });

  it('reads a local directory as is: same content → same fingerprint, one changed byte → another', async () => {
    const cacheDir = await tmp();
    const downloaded = await loadDataset({ name: 'cifar10', cacheDir, fetch: serve(new Map([[url, archive]])).fetch, logger: logger(), registry });
    const local = await tmp();
    await writeCifarDir(local, fixture);
    const log = logger();
    const data = await loadDataset({ name: 'cifar10', dataDir: local, fetch: noNetwork, logger: log });
    assert.equal(data.source, local);
    assert.equal(data.verified, false);
    assert.equal(data.fingerprint, downloaded.fingerprint);
    assert.ok(sameBytes(data.train.images, downloaded.train.images));

    const bin = Uint8Array.from(await readFile(join(local, 'data_batch_3.bin')));
    bin[100] = (bin[100] ?? 0) ^ 1;
    await writeFile(join(local, 'data_batch_3.bin'), bin);
    const changed = await loadDataset({ name: 'cifar10', dataDir: local, fetch: noNetwork, logger: log });
    assert.notEqual(changed.fingerprint, data.fingerprint);

    // A local copy of the archive that is not the official one is used, with a warning.
    const withArchive = await tmp();
    await writeFile(join(withArchive, 'cifar-10-binary.tar.gz'), archive);
    const fromArchive = await loadDataset({ name: 'cifar10', dataDir: withArchive, fetch: noNetwork, logger: log });
    assert.equal(fromArchive.verified, false);
    assert.equal(fromArchive.fingerprint, downloaded.fingerprint);
    assert.ok(log.lines.some((l) => l.startsWith('warn cifar10:') && l.includes('is not the official file')));
  });
});

describe('IDX datasets through the registry', () => {
  const train = syntheticImageSet({ count: 30, height: 28, width: 28, channels: 1, numClasses: 10, seed: 11 });
  const test = syntheticImageSet({ count: 10, height: 28, width: 28, channels: 1, numClasses: 10, seed: 12 });
  const raw = {
    trainImages: idxImagesBytes(train), trainLabels: idxLabelsBytes(train),
    testImages: idxImagesBytes(test), testLabels: idxLabelsBytes(test),
  };
  const gz = {
    trainImages: gzipSync(raw.trainImages), trainLabels: gzipSync(raw.trainLabels),
    testImages: gzipSync(raw.testImages), testLabels: gzipSync(raw.testLabels),
  };
  const injected = (spec: IdxDatasetSpec, systemDirs: string[], content: boolean): IdxDatasetSpec => ({
    ...spec,
    systemDirs,
    files: {
      trainImages: withChecksum(spec.files.trainImages, gz.trainImages, content ? sha256Hex(raw.trainImages) : undefined),
      trainLabels: withChecksum(spec.files.trainLabels, gz.trainLabels, content ? sha256Hex(raw.trainLabels) : undefined),
      testImages: withChecksum(spec.files.testImages, gz.testImages, content ? sha256Hex(raw.testImages) : undefined),
      testLabels: withChecksum(spec.files.testLabels, gz.testLabels, content ? sha256Hex(raw.testLabels) : undefined),
    },
  });
  const served = (spec: IdxDatasetSpec): Map<string, Uint8Array> => new Map([
    [spec.files.trainImages.urls[0] ?? '', gz.trainImages], [spec.files.trainLabels.urls[0] ?? '', gz.trainLabels],
    [spec.files.testImages.urls[0] ?? '', gz.testImages], [spec.files.testLabels.urls[0] ?? '', gz.testLabels],
  ]);

  it('downloads mnist files into the cache and decodes them', async () => {
    const cacheDir = await tmp();
    const spec = injected(MNIST, [], false);
    const { fetch, calls } = serve(served(spec));
    const data = await loadDataset({ name: 'mnist', cacheDir, fetch, logger: logger(), registry: [spec] });
    assert.equal(calls.length, 4);
    assert.ok(calls.every((u) => u.startsWith('https://storage.googleapis.com/cvdf-datasets/mnist/')));
    assert.deepEqual([data.train.count, data.test.count], [30, 10]);
    assert.deepEqual([data.train.height, data.train.width, data.train.channels], [28, 28, 1]);
    assert.ok(sameBytes(data.train.images, train.images));
    assert.deepEqual(Array.from(data.train.labels), Array.from(train.labels));
    assert.equal(data.verified, true);
    assert.deepEqual((await readdir(join(cacheDir, 'mnist'))).sort(), Object.values(IDX_FILE_NAMES).sort());
  });

  it('reads local gz and raw directories to the same data and fingerprint, without the network', async () => {
    const gzDir = await tmp();
    const rawDir = await tmp();
    await writeIdxDataset(gzDir, train, test, { gzip: true });
    await writeIdxDataset(rawDir, train, test, { gzip: false });
    const log = logger();
    const a = await loadDataset({ name: 'mnist', dataDir: gzDir, fetch: noNetwork, logger: log });
    const b = await loadDataset({ name: 'mnist', dataDir: rawDir, fetch: noNetwork, logger: log });
    assert.equal(a.fingerprint, b.fingerprint);
    assert.ok(sameBytes(a.test.images, b.test.images));
    assert.equal(a.verified, false);
    assert.equal(a.source, gzDir);
    assert.ok(log.lines.some((l) => l.startsWith('warn mnist:') && l.includes('train-images-idx3-ubyte.gz is not the official file')));
  });

  it('rejects local files with the wrong image size or missing files', async () => {
    const dir = await tmp();
    const small = syntheticImageSet({ count: 4, height: 20, width: 20, channels: 1, numClasses: 10, seed: 1 });
    await writeIdxDataset(dir, small, small, { gzip: true });
    await assert.rejects(loadDataset({ name: 'fashion-mnist', dataDir: dir, fetch: noNetwork, logger: logger() }),
      (e: unknown) => e instanceof DataError && /fashion-mnist train images from .* are 20×20×1, expected 28×28×1/.test(e.message));
    const empty = await tmp();
    await writeFile(join(empty, 'train-images-idx3-ubyte'), encodeIdx([0, 28, 28], new Uint8Array(0)));
    await assert.rejects(loadDataset({ name: 'mnist', dataDir: empty, fetch: noNetwork, logger: logger() }),
      (e: unknown) => e instanceof DataError && /has neither train-labels-idx1-ubyte\.gz nor train-labels-idx1-ubyte/.test(e.message));
  });

  it('uses a system copy whose content checksums match, and skips one that does not', async () => {
    const system = await tmp();
    await writeIdxDataset(system, train, test, { gzip: true });
    const spec = injected(FASHION_MNIST, [join(system, 'absent'), system], true);
    const data = await loadDataset({ name: 'fashion-mnist', cacheDir: await tmp(), fetch: noNetwork, logger: logger(), registry: [spec] });
    assert.equal(data.source, system);
    assert.equal(data.verified, true);
    assert.ok(sameBytes(data.train.images, train.images));

    // Recompressed files with identical content still pass: the check is on the content.
    await writeFile(join(system, IDX_FILE_NAMES.testLabels), gzipSync(raw.testLabels, { level: 1 }));
    assert.equal((await loadDataset({ name: 'fashion-mnist', cacheDir: await tmp(), fetch: noNetwork, logger: logger(), registry: [spec] })).source, system);

    const altered = syntheticImageSet({ count: 10, height: 28, width: 28, channels: 1, numClasses: 10, seed: 99 });
    await writeFile(join(system, IDX_FILE_NAMES.testImages), gzipSync(idxImagesBytes(altered)));
    const cacheDir = await tmp();
    const log = logger();
    const { fetch, calls } = serve(served(spec));
    const fallback = await loadDataset({ name: 'fashion-mnist', cacheDir, fetch, logger: log, registry: [spec] });
    assert.equal(fallback.source, join(cacheDir, 'fashion-mnist'));
    assert.equal(calls.length, 4);
    assert.ok(sameBytes(fallback.test.images, test.images));
    assert.equal(fallback.fingerprint, data.fingerprint);
    assert.ok(log.lines.some((l) => l === `warn fashion-mnist: ignoring ${system}: its files do not have the official content checksums`));
  });
});

describe('dataset names', () => {
  it('lists the datasets and rejects unknown names with the list', async () => {
    assert.deepEqual(datasetNames(), ['cifar10', 'mnist', 'fashion-mnist', 'usps']);
    await assert.rejects(loadDataset({ name: 'cifar100', fetch: noNetwork, logger: logger() }), (e: unknown) => {
      assert.ok(e instanceof ParamError);
      assert.equal(e.param, 'dataset');
      assert.equal(e.message, 'unknown dataset "cifar100"; expected one of cifar10, mnist, fashion-mnist, usps, or folder:PATH');
      return true;
    });
    await assert.rejects(loadDataset({ name: 'folder:/x', fetch: noNetwork, logger: logger() }),
      (e: unknown) => e instanceof DataError && /folder:\/x: an image folder needs the size to resize its images to/.test(e.message));
  });
});
