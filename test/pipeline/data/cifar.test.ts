import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../../src/errors.js';
import { decodeCifarBatches, readCifar10 } from '../../../src/pipeline/data/cifar.js';
import {
  CIFAR10_NAMES, cifarArchive, cifarFixture, concatSets, makeTar, sameBytes, sha256Hex, writeCifarDir,
} from '../../support/make-datasets.js';

const isDataError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, `expected DataError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

/** One hand-built record: distinct, position-dependent values in each plane. */
function record(label: number): Uint8Array {
  const rec = new Uint8Array(3073);
  rec[0] = label;
  for (let p = 0; p < 1024; p++) {
    rec[1 + p] = p % 256; // R
    rec[1 + 1024 + p] = (p * 7 + 3) % 256; // G
    rec[1 + 2048 + p] = 255 - (p % 251); // B
  }
  return rec;
}

describe('decodeCifarBatches', () => {
  it('converts channel-planar records to NHWC, pixel by pixel', () => {
    const recs = new Uint8Array(2 * 3073);
    recs.set(record(3), 0);
    const second = record(9);
    second.fill(17, 1, 1025); // R plane constant in the second image
    recs.set(second, 3073);
    const set = decodeCifarBatches([{ bytes: recs, source: 'b' }]);
    assert.deepEqual([set.count, set.height, set.width, set.channels], [2, 32, 32, 3]);
    assert.deepEqual(Array.from(set.labels), [3, 9]);
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const p = y * 32 + x;
        const at = (y * 32 + x) * 3;
        assert.equal(set.images[at], p % 256, `R at ${y},${x}`);
        assert.equal(set.images[at + 1], (p * 7 + 3) % 256, `G at ${y},${x}`);
        assert.equal(set.images[at + 2], 255 - (p % 251), `B at ${y},${x}`);
        assert.equal(set.images[3072 + at], 17, `second image R at ${y},${x}`);
        assert.equal(set.images[3072 + at + 1], (p * 7 + 3) % 256);
      }
    }
  });

  it('concatenates batches in order', () => {
    const fixture = cifarFixture(4, 3);
    const bins = [1, 2, 3, 4, 5].map((i) => ({ bytes: fixture.files.get(`data_batch_${i}.bin`) ?? new Uint8Array(), source: `b${i}` }));
    const set = decodeCifarBatches(bins);
    const expected = concatSets(fixture.batches);
    assert.equal(set.count, 20);
    assert.deepEqual(Array.from(set.labels), Array.from(expected.labels));
    assert.ok(sameBytes(set.images, expected.images));
  });

  it('rejects wrong sizes, empty files and labels >= 10, naming the file', () => {
    const bytes = new Uint8Array(3074);
    assert.throws(() => decodeCifarBatches([{ bytes, source: '/d/data_batch_1.bin' }]),
      isDataError(/^CIFAR-10 file \/d\/data_batch_1\.bin has 3074 bytes, expected a non-zero multiple of 3073 \(1 label byte \+ 3072 pixel bytes per image\)$/));
    assert.throws(() => decodeCifarBatches([{ bytes: new Uint8Array(0), source: 'e.bin' }]), isDataError(/e\.bin has 0 bytes/));
    const recs = new Uint8Array(3 * 3073);
    recs[2 * 3073] = 10;
    assert.throws(() => decodeCifarBatches([{ bytes: recs, source: 't.bin' }]), isDataError(/t\.bin has label 10 in record 2, expected 0\.\.9/));
  });
});

describe('readCifar10 locations', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const fixture = cifarFixture(2, 3);
  const expectedTrain = concatSets(fixture.batches);
  const tmp = async (): Promise<string> => {
    const dir = await mkdtemp(join(tmpdir(), 'cifar-'));
    dirs.push(dir);
    return dir;
  };

  it('reads the same data from the archive, a directory with it, cifar-10-batches-bin/ and the extracted files', async () => {
    const root = await tmp();
    await mkdir(join(root, 'withArchive'));
    await writeFile(join(root, 'withArchive', 'cifar-10-binary.tar.gz'), cifarArchive(fixture));
    await writeCifarDir(join(root, 'parent', 'cifar-10-batches-bin'), fixture);
    await writeCifarDir(join(root, 'flat'), fixture);
    const locations = [join(root, 'withArchive', 'cifar-10-binary.tar.gz'), join(root, 'withArchive'), join(root, 'parent'), join(root, 'flat')];
    const sources = [locations[0], locations[0], join(root, 'parent', 'cifar-10-batches-bin'), join(root, 'flat')];
    for (const [i, location] of locations.entries()) {
      const content = await readCifar10(location ?? '');
      assert.equal(content.source, sources[i]);
      assert.equal(content.train.count, 10);
      assert.equal(content.test.count, 3);
      assert.ok(sameBytes(content.train.images, expectedTrain.images), location);
      assert.deepEqual(Array.from(content.test.labels), Array.from(fixture.test.labels));
      assert.equal(content.contentSha256['test_batch.bin'], sha256Hex(fixture.files.get('test_batch.bin') ?? new Uint8Array()));
      assert.deepEqual(content.metaClassNames, CIFAR10_NAMES);
    }
  });

  it('names what is missing', async () => {
    const root = await tmp();
    await writeCifarDir(root, fixture);
    await unlink(join(root, 'data_batch_4.bin'));
    await unlink(join(root, 'test_batch.bin'));
    await assert.rejects(readCifar10(root), isDataError(/is missing data_batch_4\.bin, test_batch\.bin/));
    const empty = await tmp();
    await assert.rejects(readCifar10(empty), isDataError(/contains neither the extracted data_batch_1\.bin/));
    await assert.rejects(readCifar10(join(empty, 'nope')), isDataError(/does not exist/));
    const partial = gzipSync(makeTar([{ path: 'cifar-10-batches-bin/test_batch.bin', data: fixture.files.get('test_batch.bin') ?? new Uint8Array() }]));
    await writeFile(join(empty, 'cifar-10-binary.tar.gz'), partial);
    await assert.rejects(readCifar10(empty), isDataError(/archive .* is missing cifar-10-batches-bin\/data_batch_1\.bin, .*data_batch_5\.bin$/));
  });
});
