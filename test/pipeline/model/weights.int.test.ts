/**
 * Pretrained weights by name: downloaded from the registry's URL with an injected fetch, MD5-checked,
 * cached in Keras's cache folder (a Keras user's file is reused), and loaded into the right layers.
 */
import { after, before, describe, it } from 'node:test';
import { VGG_FILTERS } from '../../../src/pipeline/model/arch/vgg.js';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { BACKBONES, type BackboneSpec } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { loadBaseWeights, resolveWeights } from '../../../src/pipeline/model/weights.js';
import { makeKerasNotopH5, type MadeKerasH5 } from '../../support/make-keras-h5.js';

const URL_ = 'https://storage.googleapis.com/tensorflow/keras-applications/small/small_notop.h5';
const FILE = 'small_notop.h5';

describe('imagenet-style weights by name', () => {
  let dir: string;
  let made: MadeKerasH5;
  let bytes: Buffer;
  let spec: BackboneSpec;
  const requests: string[] = [];
  const fetchFake = async (input: string | URL | Request) => {
    const url = String(input);
    requests.push(url);
    return url === URL_ ? new Response(bytes) : new Response('not found', { status: 404 });
  };
  const deps = () => ({ env: { KERAS_HOME: join(dir, 'keras') }, fetch: fetchFake, logger: pino({ level: 'silent' }), cwd: dir });

  before(async () => {
    await initBackend('tensorflow');
    dir = await mkdtemp(join(tmpdir(), 'transferkit-weights-'));
    made = await makeKerasNotopH5(join(dir, 'source.h5'), VGG_FILTERS['small-cnn'], { seed: 5 });
    bytes = await readFile(made.path);
    const md5 = createHash('md5').update(bytes).digest('hex');
    spec = { ...BACKBONES['small-cnn'], weights: { imagenet: { format: 'keras-h5', url: URL_, fileName: FILE, checksum: { algorithm: 'md5', hex: md5 } } } };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('downloads once into ~/.keras/models, then reuses the cached file', async () => {
    const first = await resolveWeights('imagenet', spec, deps());
    assert.ok(first.kind === 'imagenet');
    assert.equal(first.path, join(dir, 'keras', 'models', FILE));
    assert.deepEqual(requests, [URL_]);
    await resolveWeights('imagenet', spec, deps());
    assert.equal(requests.length, 1, 'second resolve is a cache hit');
  });

  it('loads the file into the right layers', async () => {
    const model = buildClassifier(spec, 16, { numClasses: 2, denseUnits: 4, dropout: 0, seed: 1 });
    await loadBaseWeights(model, spec, await resolveWeights('imagenet', spec, deps()));
    for (const [layer, arrays] of made.arrays) {
      const got = model.getLayer(layer).getWeights().map((w) => Array.from(w.dataSync()));
      assert.deepEqual(got, arrays.map((a) => Array.from(a.values)), layer);
    }
    model.dispose();
  });

  it('replaces a corrupted cached file instead of trusting it', async () => {
    await writeFile(join(dir, 'keras', 'models', FILE), 'garbage');
    requests.length = 0;
    await resolveWeights('imagenet', spec, deps());
    assert.deepEqual(requests, [URL_]);
    assert.deepEqual(await readFile(join(dir, 'keras', 'models', FILE)), bytes);
  });

  it('refuses a download whose MD5 differs from the published one, naming URL and hashes', async () => {
    const wrong: BackboneSpec = { ...spec, weights: { imagenet: { format: 'keras-h5', url: URL_, fileName: 'other.h5', checksum: { algorithm: 'md5', hex: '0'.repeat(32) } } } };
    await assert.rejects(
      resolveWeights('imagenet', wrong, deps()),
      (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_CHECKSUM' && e.message.includes(URL_) && e.message.includes('0'.repeat(32)),
    );
    await mkdir(join(dir, 'keras', 'models'), { recursive: true });
  });

  it('names the valid choices for an unknown weights value', async () => {
    await assert.rejects(
      resolveWeights('imagenett', BACKBONES.vgg16, deps()),
      (e: unknown) => e instanceof Error && 'param' in e && e.param === 'weights' && /"none", "imagenet", a Keras \.h5 file/.test(e.message) && /"imagenett"/.test(e.message),
    );
  });

  it('takes weights whose publisher gives no hash (MobileNetV2): says so, checks them by layers and shapes, fingerprints their sha256', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const unhashed: BackboneSpec = { ...spec, weights: { imagenet: { format: 'keras-h5', url: URL_, fileName: 'unhashed.h5', checksum: undefined } } };
    const env = { KERAS_HOME: join(dir, 'keras-unhashed') };
    const w = await resolveWeights('imagenet', unhashed, { env, fetch: fetchFake, logger, cwd: dir });
    assert.match(lines.join(''), /no checksum is published for the small-cnn imagenet weights/);
    const model = buildClassifier(unhashed, 16, { numClasses: 2, denseUnits: 4, dropout: 0, seed: 1 });
    const fingerprint = await loadBaseWeights(model, unhashed, w);
    assert.equal(fingerprint, `sha256:${createHash('sha256').update(bytes).digest('hex')}`);
    model.dispose();
    // A file of another network under that name is refused by its layers, never loaded.
    await writeFile(join(dir, 'keras-unhashed', 'models', 'unhashed.h5'), await readFile(made.path));
    const vgg = buildClassifier(BACKBONES.vgg16, 32, { numClasses: 2, denseUnits: 4, dropout: 0, seed: 1 });
    await assert.rejects(loadBaseWeights(vgg, { ...BACKBONES.vgg16, weights: unhashed.weights }, await resolveWeights('imagenet', { ...BACKBONES.vgg16, weights: unhashed.weights }, { env, fetch: fetchFake, logger, cwd: dir })), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_WEIGHTS');
    vgg.dispose();
  });
});
