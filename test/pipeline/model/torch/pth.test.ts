/**
 * The legacy `.pth` reader on small files written opcode by opcode like torch's `_legacy_save`
 * (legacy-pth.ts): views are gathered through their offset and strides, dtypes are converted, and
 * every kind of damage is a WeightsError that names the file and what is wrong. The same files are
 * read by Python's pickle + numpy in pth.int.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WeightsError } from '../../../../src/errors.js';
import { parseTorchLegacyStateDict, readTorchLegacyStateDict } from '../../../../src/pipeline/model/torch/pth.js';
import { type FakePth, PickleWriter, SAMPLE, writeLegacyPth } from './legacy-pth.js';

const FILE = '/cache/model.pth';
const refused = (pattern: RegExp) => (e: unknown) => e instanceof WeightsError && e.code === 'ERR_WEIGHTS' && e.message.includes(FILE) && pattern.test(e.message);

describe('legacy .pth reader: values', () => {
  it('gathers views through offset and strides into row-major float32, in state-dict order', () => {
    const tensors = parseTorchLegacyStateDict(writeLegacyPth(SAMPLE), FILE);
    assert.deepEqual([...tensors.keys()], SAMPLE.tensors.map((t) => t.name));
    const conv = tensors.get('conv.weight');
    assert.deepEqual(conv?.shape, [2, 3, 2, 2]);
    // element [o, i, h, w] sits at storage index o·1 + i·2 + h·12 + w·6, and the storage holds 0.5·index
    const expected = [];
    for (let o = 0; o < 2; o++) for (let i = 0; i < 3; i++) for (let h = 0; h < 2; h++) for (let w = 0; w < 2; w++) expected.push(0.5 * (o + 2 * i + 12 * h + 6 * w));
    assert.deepEqual(Array.from(conv?.values ?? []), expected);
    assert.deepEqual(Array.from(tensors.get('bn.weight')?.values ?? []), [1, -0.25, -1.5, -2.75]);
    assert.deepEqual(Array.from(tensors.get('bn.bias')?.values ?? []), [-4, -5.25, -6.5, -7.75]);
    assert.deepEqual(Array.from(tensors.get('bn.every_other')?.values ?? []), [-0.25, -2.75, -5.25, -7.75]);
    const count = tensors.get('bn.num_batches_tracked');
    assert.deepEqual([count?.shape, Array.from(count?.values ?? []), count?.dtype], [[], [12345], 'int64']);
    assert.deepEqual(Array.from(tensors.get('fc.double')?.values ?? []), [0.1, 0.2, 0.3].map(Math.fround));
    assert.equal(tensors.get('fc.double')?.dtype, 'float64');
    assert.deepEqual(Array.from(tensors.get('fc.int')?.values ?? []), [8]);
    assert.deepEqual([tensors.get('fc.empty')?.shape, tensors.get('fc.empty')?.values.length], [[0, 5], 0]);
  });
  it('reads a file from disk, and names a missing one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-pth-'));
    try {
      await writeFile(join(dir, 'm.pth'), writeLegacyPth(SAMPLE));
      assert.equal((await readTorchLegacyStateDict(join(dir, 'm.pth'))).size, SAMPLE.tensors.length);
      await assert.rejects(readTorchLegacyStateDict(join(dir, 'nope.pth')), (e: unknown) => e instanceof WeightsError && /weights file .*nope\.pth does not exist/.test(e.message));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('legacy .pth reader: damaged and hostile files', () => {
  const parse = (spec: Partial<FakePth>) => () => parseTorchLegacyStateDict(writeLegacyPth({ ...SAMPLE, ...spec }), FILE);
  const storages = (change: (s: FakePth['storages'][number]) => FakePth['storages'][number]) => SAMPLE.storages.map(change);

  it('refuses files that are not legacy torch files', () => {
    assert.throws(() => parseTorchLegacyStateDict(Buffer.from('PK\x03\x04rest'), FILE), refused(/torch's zip format \(torch\.save since 1\.6\)/));
    assert.throws(() => parseTorchLegacyStateDict(Buffer.from('\x89HDF\r\n\x1a\n', 'latin1'), FILE), refused(/is not a torch legacy \.pth file: it does not start with a pickled magic number \(.*byte 0x48 is not a pickle opcode \(opcode at byte 1\)/));
    assert.throws(() => parseTorchLegacyStateDict(Buffer.alloc(0), FILE), refused(/does not start with a pickled magic number \(.*truncated/));
    assert.throws(parse({ magic: 0x1950a86a20f9469cfc6dn }), refused(/starts with 119547037146038801333357 \(int\), expected torch's legacy magic number 0x1950a86a20f9469cfc6c/));
    assert.throws(parse({ protocolVersion: 1000 }), refused(/protocol version 1000 \(int\), expected 1001/));
    assert.throws(parse({ littleEndian: false }), refused(/little_endian is False; only little-endian files are supported/));
  });
  it('refuses a global outside the allow-list inside the state dict, naming it', () => {
    const evil = parse({ inject: (p: PickleWriter) => p.global('os', 'system').str('touch /tmp/x').raw(0x85, 0x52, 0x30) });
    assert.throws(evil, refused(/refers to the global os\.system .*nothing from the file was run/));
    assert.throws(parse({ storages: storages((s) => (s.key === '3' ? { ...s, type: 'HalfStorage' } : s)) }), refused(/the global torch\.HalfStorage/));
  });
  it('refuses storage sections that do not match the state dict', () => {
    assert.throws(parse({ storages: storages((s) => (s.key === '3' ? { ...s, writtenNumel: 9 } : s)) }), refused(/storage 3 holds 9 elements, but the state dict declares 10/));
    assert.throws(parse({ keys: ['7', '3', '11', '5'] }), refused(/the key list has 4 storages, but the state dict uses 5; not listed: 9/));
    assert.throws(parse({ keys: ['7', '3', '11', '5', '9', '7'] }), refused(/storage 7 is listed twice/));
    assert.throws(parse({ storages: [...SAMPLE.storages, { key: '99', type: 'FloatStorage', elements: [1] }] }), refused(/storage 99 \(number 6 of 6 in the key list\) is used by no tensor/));
    assert.throws(parse({ trailing: Buffer.from([0, 0, 0]) }), refused(/3 bytes follow the last storage/));
    const shared = { storages: [{ key: '1', type: 'FloatStorage' as const, elements: [1, 2] }], tensors: [{ name: 'a', storage: '1', size: [2] }, { name: 'b', storage: '1', size: [1], declare: { type: 'LongStorage' as const, numel: 2 } }] };
    assert.throws(() => parseTorchLegacyStateDict(writeLegacyPth(shared), FILE), refused(/tensors a and b declare storage 1 differently \(float32 × 2, int64 × 2\)/));
  });
  it('refuses views that reach outside their storage or are malformed', () => {
    const tensors = (change: (t: FakePth['tensors'][number]) => FakePth['tensors'][number]) => SAMPLE.tensors.map(change);
    assert.throws(parse({ tensors: tensors((t) => (t.name === 'bn.bias' ? { ...t, offset: 7 } : t)) }), refused(/tensor bn\.bias \(offset 7, size \(4\), stride \(1\)\) reaches element 10 of storage 3, which has 10 elements/));
    assert.throws(parse({ tensors: tensors((t) => (t.name === 'conv.weight' ? { ...t, stride: [1, 2, 12, 7] } : t)) }), refused(/tensor conv\.weight .*reaches element 24 of storage 7, which has 24 elements/));
    assert.throws(parse({ tensors: tensors((t) => (t.name === 'bn.weight' ? { ...t, stride: [-1] } : t)) }), refused(/tensor bn\.weight has stride\[0\] -1 \(int\), expected an integer ≥ 0/));
    assert.throws(parse({ tensors: tensors((t) => (t.name === 'bn.weight' ? { ...t, stride: [1, 1] } : t)) }), refused(/tensor bn\.weight has size \(4\) but stride \(1, 1\)/));
    assert.throws(parse({ storages: storages((s) => (s.key === '3' ? { ...s, declaredNumel: 11 } : s)) }), refused(/storage 3 holds 10 elements, but the state dict declares 11/));
  });
  it('refuses every truncation of the file with a WeightsError', () => {
    const bytes = writeLegacyPth(SAMPLE);
    for (let cut = 0; cut < bytes.byteLength; cut++) {
      assert.throws(() => parseTorchLegacyStateDict(bytes.subarray(0, cut), FILE), refused(/truncated|magic number|stack is empty|no MARK|used by no tensor|the key list has/), `cut at ${cut}`);
    }
  });
});
