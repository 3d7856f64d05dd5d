import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DataError } from '../../../src/errors.js';
import { readTarGz, tarEntries } from '../../../src/pipeline/data/tar.js';
import type { TarEntry } from '../../../src/pipeline/data/tar.js';
import { cifarArchive, cifarFixture, makeTar, paxRecord, sameBytes } from '../../support/make-datasets.js';

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function collect(bytes: Uint8Array, chunkSize = 1 << 16): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const entry of tarEntries(chunked(bytes, chunkSize), 'test.tar')) out.push(entry);
  return out;
}

const isDataError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, `expected DataError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

describe('tarEntries', () => {
  const a = Buffer.from('hello world\n');
  const b = Uint8Array.from({ length: 1300 }, (_, i) => (i * 31) % 256);
  const archive = makeTar([
    { path: 'dir/', type: '5' },
    { path: 'dir/a.txt', data: a },
    { path: './dir/b.bin', data: b },
    { path: 'dir/link', type: '2', linkName: 'a.txt' },
    { path: 'empty', data: new Uint8Array(0) },
  ]);

  it('yields regular files only, with their contents, across any chunking', async () => {
    for (const size of [7, 512, 1 << 20]) {
      const entries = await collect(archive, size);
      assert.deepEqual(entries.map((e) => e.path), ['dir/a.txt', 'dir/b.bin', 'empty']);
      assert.ok(sameBytes(entries[0]?.data ?? new Uint8Array(), a));
      assert.ok(sameBytes(entries[1]?.data ?? new Uint8Array(), b));
      assert.equal(entries[2]?.data.length, 0);
    }
  });

  it('validates header checksums', async () => {
    const corrupt = Uint8Array.from(archive);
    corrupt[512 + 10] = 0x41; // inside the second header's name field
    await assert.rejects(collect(corrupt), isDataError(/corrupt header at offset 512: checksum field \d+, computed \d+/));
  });

  it('rejects paths with ".." and absolute paths', async () => {
    await assert.rejects(collect(makeTar([{ path: 'ok/../../etc/passwd', data: a }])), isDataError(/path with "\.\."/));
    await assert.rejects(collect(makeTar([{ path: '/etc/passwd', data: a }])), isDataError(/absolute member path "\/etc\/passwd"/));
  });

  it('reports a truncated archive', async () => {
    await assert.rejects(collect(archive.subarray(0, 512 + 512 + 5)), isDataError(/test\.tar is truncated: needed 12 bytes for a member of 12 bytes at offset 1024, 5 left/));
  });

  it('honours pax path records (and checks them too)', async () => {
    const long = `${'x'.repeat(120)}/data.bin`;
    const entries = await collect(makeTar([{ path: 'PaxHeaders/data.bin', type: 'x', data: paxRecord('path', long) }, { path: 'short', data: a }]));
    assert.deepEqual(entries.map((e) => e.path), [long]);
    const evil = makeTar([{ path: 'PaxHeaders/x', type: 'x', data: paxRecord('path', '../x') }, { path: 'x', data: a }]);
    await assert.rejects(collect(evil), isDataError(/"\.\."/));
  });
});

describe('readTarGz', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('reads the helper CIFAR archive, which the system tar also lists and extracts identically', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-'));
    dirs.push(dir);
    const fixture = cifarFixture(3, 2);
    const path = join(dir, 'cifar-10-binary.tar.gz');
    await writeFile(path, cifarArchive(fixture));

    const listed = spawnSync('tar', ['-tzf', path], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const names = ['batches.meta.txt', 'data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    assert.deepEqual(listed.stdout.trim().split('\n'), ['cifar-10-batches-bin/', ...names.map((n) => `cifar-10-batches-bin/${n}`)]);
    const out = join(dir, 'x');
    await mkdir(out);
    const extracted = spawnSync('tar', ['-xzf', path, '-C', out], { encoding: 'utf8' });
    assert.equal(extracted.status, 0, extracted.stderr);

    const members = await readTarGz(path, (m) => m.endsWith('.bin'));
    assert.deepEqual([...members.keys()].sort(), names.filter((n) => n.endsWith('.bin')).map((n) => `cifar-10-batches-bin/${n}`));
    for (const [member, data] of members) {
      assert.ok(sameBytes(data, await readFile(join(out, member))), member);
      assert.ok(sameBytes(data, fixture.files.get(member.split('/')[1] ?? '') ?? new Uint8Array()), member);
    }
  });

  it('reports a missing or non-gzip file as DataError naming it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tar-'));
    dirs.push(dir);
    await assert.rejects(readTarGz(join(dir, 'missing.tar.gz'), () => true), isDataError(/missing\.tar\.gz/));
    await writeFile(join(dir, 'plain.tar.gz'), makeTar([{ path: 'a', data: Buffer.from('a') }]));
    await assert.rejects(readTarGz(join(dir, 'plain.tar.gz'), () => true), isDataError(/plain\.tar\.gz .*not gzip/));
    const gz = gzipSync(makeTar([{ path: 'a', data: new Uint8Array(5000) }]));
    await writeFile(join(dir, 'cut.tar.gz'), gz.subarray(0, gz.length - 30));
    await assert.rejects(readTarGz(join(dir, 'cut.tar.gz'), () => true), isDataError(/cut\.tar\.gz/));
  });
});
