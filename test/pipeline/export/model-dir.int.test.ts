/**
 * The model/ folder: tfjs model, Keras-loadable model.h5 that Python Keras predicts the same with,
 * transferkit.json; atomic replacement; and reuse of the folder as the frozen base of a new model.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { execa } from 'execa';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { exportModelDir } from '../../../src/pipeline/export/model-dir.js';
import { modelMeta, type ModelMeta } from '../../../src/pipeline/export/meta.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { stackConvLayers } from '../../../src/pipeline/model/spec.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { preprocess } from '../../../src/pipeline/model/input.js';
import { loadBaseWeights, resolveWeights } from '../../../src/pipeline/model/weights.js';
import { venvPython } from '../../support/python.js';

const spec = BACKBONES['small-cnn'];
const SIZE = 16;
const meta: ModelMeta = modelMeta({ spec, inputSize: SIZE, dataset: 'test', classIds: [0, 1, 2], classNames: ['a', 'b', 'c'], baseWeights: 'none' });
const deps = { env: {}, fetch: globalThis.fetch, logger: pino({ level: 'silent' }), cwd: '/' };
const weightsOf = (m: tf.LayersModel, name: string) => m.getLayer(name).getWeights().map((w) => Array.from(w.dataSync()));

describe('model folder', () => {
  let dir: string;
  let model: tf.LayersModel;
  // Raw pixels: the exported model preprocesses them itself; the classifier takes them preprocessed.
  const x = tf.randomUniform<tf.Rank.R4>([4, SIZE, SIZE, 3], 0, 255, 'float32', 5);
  const classify = (m: tf.LayersModel) => Array.from((m.predict(preprocess(x, spec.preprocessing)) as tf.Tensor).dataSync());

  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    dir = await mkdtemp(join(tmpdir(), 'transferkit-export-'));
    model = buildClassifier(spec, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0.5, seed: 9 });
    await exportModelDir(model, join(dir, 'model'), meta, spec.preprocessing, { 'extra.txt': 'hello' });
  });
  after(async () => {
    model.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the tfjs model, model.h5, transferkit.json and nothing half-written beside it', async () => {
    assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['extra.txt', 'model.h5', 'model.json', 'transferkit.json', 'weights.bin']);
    assert.deepEqual(await readdir(dir), ['model']);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'model', 'transferkit.json'), 'utf8')), meta);
    const loaded = await tf.loadLayersModel(`file://${join(dir, 'model', 'model.json')}`);
    assert.equal(loaded.layers[1]?.name, 'preprocess');
    const b = Array.from((loaded.predict(x) as tf.Tensor).dataSync());
    const a = classify(model);
    assert.ok(Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN)))) < 1e-6, 'raw pixels in, the same probabilities out');
    loaded.dispose();
  });

  it("is loaded by Python Keras's load_model('model.h5'), which predicts the same (within 1e-4)", async () => {
    const input = join(dir, 'x.f32');
    await writeFile(input, Buffer.from(x.dataSync().buffer));
    const script = `
import sys, numpy as np, keras
m = keras.models.load_model(sys.argv[1])
x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(4, ${SIZE}, ${SIZE}, 3)
sys.stdout.write(",".join(repr(float(v)) for v in m.predict(x, verbose=0).ravel()))`;
    const res = await execa(venvPython(), ['-c', script, join(dir, 'model', 'model.h5'), input], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    const keras = res.stdout.split(',').map(Number);
    const ours = classify(model);
    assert.equal(keras.length, ours.length);
    const diff = Math.max(...keras.map((v, i) => Math.abs(v - (ours[i] ?? Number.NaN))));
    assert.ok(diff < 1e-4, `max |keras - tfjs| = ${diff}`);
  });

  it('is replaced whole, and a failed export leaves the previous folder intact', async () => {
    const other = buildClassifier(spec, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0.5, seed: 10 });
    const before = await readFile(join(dir, 'model', 'weights.bin'));
    await assert.rejects(
      exportModelDir(other, join(dir, 'model'), meta, spec.preprocessing, { 'missing-subdir/x.txt': 'fails after the model files were written' }),
      (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_EXPORT' && /Could not write the model folder/.test(e.message),
    );
    assert.deepEqual(await readFile(join(dir, 'model', 'weights.bin')), before);
    assert.deepEqual((await readdir(dir)).filter((n) => n !== 'x.f32'), ['model']);
    await exportModelDir(other, join(dir, 'model'), meta, spec.preprocessing);
    assert.notDeepEqual(await readFile(join(dir, 'model', 'weights.bin')), before);
    assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['model.h5', 'model.json', 'transferkit.json', 'weights.bin']);
    await exportModelDir(model, join(dir, 'model'), meta, spec.preprocessing);
    other.dispose();
  });

  it('serves as the frozen base of a new model (the seed\'s 0-4 → 5-9 recipe)', async () => {
    const source = await resolveWeights(join(dir, 'model'), spec, deps);
    assert.equal(source.kind, 'transferkit');
    const target = buildClassifier(spec, SIZE, { numClasses: 5, denseUnits: 8, dropout: 0.5, seed: 77 });
    const fingerprint = await loadBaseWeights(target, spec, source);
    assert.match(fingerprint, /^sha256:[0-9a-f]{64}$/);
    for (const name of stackConvLayers(spec) ?? []) {
      assert.deepEqual(weightsOf(target, name), weightsOf(model, name), `${name} copied from the source model`);
    }
    assert.notDeepEqual(weightsOf(target, 'fc1')[0]?.slice(0, 5), weightsOf(model, 'fc1')[0]?.slice(0, 5));
    target.dispose();
  });

  it('refuses a source model built on another backbone, naming both', async () => {
    await assert.rejects(
      resolveWeights(join(dir, 'model'), BACKBONES.vgg16, deps),
      (e: unknown) => e instanceof Error && /built on backbone "small-cnn", but backbone is "vgg16"; pass backbone=small-cnn/.test(e.message),
    );
  });
});
