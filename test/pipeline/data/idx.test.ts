import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../../src/errors.js';
import { idxImageSet, parseIdx, readIdxFile } from '../../../src/pipeline/data/idx.js';
import { encodeIdx, sameBytes, sha256Hex, syntheticImageSet } from '../../support/make-datasets.js';

const dataError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, `expected DataError, got ${String(error)}`);
  assert.equal(error.code, 'ERR_DATA');
  assert.match(error.message, pattern);
  return true;
};

describe('parseIdx', () => {
  const images = Uint8Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 5);
  const file = encodeIdx([2, 3, 4], images);

  it('reads the dims and a view of the data', () => {
    const idx = parseIdx(file, 'f', 3);
    assert.deepEqual(idx.dims, [2, 3, 4]);
    assert.ok(sameBytes(idx.data, images));
    assert.equal(idx.data.buffer, file.buffer, 'no copy of the pixel data');
    assert.equal(Object.getPrototypeOf(idx.data), Uint8Array.prototype);
  });

  it('reads label files (magic 0x00000801)', () => {
    const idx = parseIdx(encodeIdx([3], Uint8Array.of(7, 0, 9)), 'l', 1);
    assert.deepEqual(idx.dims, [3]);
    assert.deepEqual(Array.from(idx.data), [7, 0, 9]);
  });

  it('rejects a truncated file with the numbers', () => {
    assert.throws(() => parseIdx(file.subarray(0, file.length - 5), '/d/imgs', 3),
      dataError(/IDX file \/d\/imgs is truncated: its header says 2×3×4 = 24 data bytes, found 19/));
  });

  it('rejects trailing bytes', () => {
    const longer = new Uint8Array(file.length + 2);
    longer.set(file);
    assert.throws(() => parseIdx(longer, 'f', 3), dataError(/is too long: .*24 data bytes, found 26/));
  });

  it('rejects a header cut short', () => {
    assert.throws(() => parseIdx(file.subarray(0, 10), 'f', 3), dataError(/truncated: 10 bytes, its header alone needs 16/));
    assert.throws(() => parseIdx(file.subarray(0, 2), 'f', 3), dataError(/2 bytes, too short/));
  });

  it('rejects a labels file where images are expected, naming both magics', () => {
    const labels = encodeIdx([3], Uint8Array.of(1, 2, 3));
    assert.throws(() => parseIdx(labels, 'x', 3), dataError(/magic 0x00000801 \(1 dimensions\), expected 0x00000803/));
  });

  it('rejects non-IDX bytes and other data types', () => {
    assert.throws(() => parseIdx(Buffer.from('PK\u0003\u0004rest'), 'z', 1), dataError(/starts with 0x504b0304, expected magic 0x00000801/));
    const floats = Uint8Array.from(encodeIdx([1], Uint8Array.of(0)));
    floats[2] = 0x0d;
    assert.throws(() => parseIdx(floats, 'z', 1), dataError(/data type 0x0d \(float\), expected 0x08/));
  });
});

describe('readIdxFile and idxImageSet', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const set = syntheticImageSet({ count: 12, height: 28, width: 28, channels: 1, numClasses: 10, seed: 3 });
  const imageBytes = encodeIdx([12, 28, 28], set.images);
  const labelBytes = encodeIdx([12], Uint8Array.from(set.labels));

  it('reads gzip and raw files to the same bytes and content hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idx-'));
    dirs.push(dir);
    await writeFile(join(dir, 'a.gz'), gzipSync(imageBytes));
    await writeFile(join(dir, 'a'), imageBytes);
    const gz = await readIdxFile(join(dir, 'a.gz'));
    const raw = await readIdxFile(join(dir, 'a'));
    assert.ok(sameBytes(gz.bytes, imageBytes));
    assert.ok(sameBytes(raw.bytes, imageBytes));
    assert.equal(gz.contentSha256, sha256Hex(imageBytes));
    assert.equal(raw.contentSha256, gz.contentSha256);
  });

  it('reports a truncated gzip file and a missing file as DataError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'idx-'));
    dirs.push(dir);
    const gz = gzipSync(imageBytes);
    await writeFile(join(dir, 'cut.gz'), gz.subarray(0, gz.length - 100));
    await assert.rejects(readIdxFile(join(dir, 'cut.gz')), dataError(/cut\.gz is not a valid gzip file/));
    await assert.rejects(readIdxFile(join(dir, 'nope.gz')), dataError(/cannot read IDX file .*nope\.gz/));
  });

  it('builds a grayscale ImageSet', () => {
    const out = idxImageSet({ bytes: imageBytes, source: 'i' }, { bytes: labelBytes, source: 'l' }, 10);
    assert.equal(out.count, 12);
    assert.deepEqual([out.height, out.width, out.channels], [28, 28, 1]);
    assert.deepEqual(Array.from(out.labels), Array.from(set.labels));
    assert.ok(sameBytes(out.images, set.images));
  });

  it('rejects mismatched counts and out-of-range labels', () => {
    const fewer = encodeIdx([11], Uint8Array.from(set.labels.subarray(0, 11)));
    assert.throws(() => idxImageSet({ bytes: imageBytes, source: 'imgs' }, { bytes: fewer, source: 'labs' }, 10),
      dataError(/imgs has 12 images but label file labs has 11 labels/));
    const bad = Uint8Array.from(set.labels);
    bad[4] = 10;
    assert.throws(() => idxImageSet({ bytes: imageBytes, source: 'i' }, { bytes: encodeIdx([12], bad), source: 'labs' }, 10),
      dataError(/labs has label 10 at index 4, expected 0\.\.9/));
  });
});
