/**
 * Every graph backbone's classifier, exported as a self-contained model.h5 (raw pixels in), loads
 * in Python Keras's load_model — ReLU6, swish, depthwise convolutions, zero padding, squeeze-
 * excitation, residual adds, our BatchNorm and Dropout saved as the Keras layers they stand for —
 * and predicts what tfjs predicts on the same raw pixels (1e-4). BN statistics are randomised first,
 * so a file that lost or reordered them would predict otherwise.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { initBackend } from '../../../src/pipeline/backend.js';
import { writeKerasH5 } from '../../../src/pipeline/export/keras-h5.js';
import { withPreprocessing } from '../../../src/pipeline/export/self-contained.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { runKerasPython } from '../../support/python.js';

const SIZE = 32;
const NAMES = ['mobilenet_v2', 'resnet50', 'efficientnet_b0', 'efficientnet_lite0'] as const;

const SCRIPT = String.raw`
import json, sys, numpy as np, keras
job = json.loads(sys.argv[1])
out = {}
x = np.fromfile(job["x"], dtype="<f4").reshape(job["shape"])
for name, path in job["models"].items():
    m = keras.models.load_model(path)
    out[name] = m.predict(x, verbose=0).ravel().tolist()
print(json.dumps(out))
`;

describe('graph backbones exported for Keras', () => {
  let dir: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    dir = await mkdtemp(join(tmpdir(), 'transferkit-backbones-export-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('load_model(model.h5) predicts like tfjs on raw pixels for mobilenet_v2, resnet50, efficientnet_b0, efficientnet_lite0', async () => {
    const x = tf.randomUniform<tf.Rank.R4>([2, SIZE, SIZE, 3], 0, 255, 'float32', 11);
    await writeFile(join(dir, 'x.f32'), Buffer.from(x.dataSync().buffer));
    const ours: Record<string, number[]> = {};
    const models: Record<string, string> = {};
    for (const name of NAMES) {
      const spec = BACKBONES[name];
      const model = buildClassifier(spec, SIZE, { numClasses: 4, denseUnits: 8, dropout: 0.2, seed: 5 });
      tf.tidy(() => {
        for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
          const n = layer.getWeights()[0]?.shape[0] ?? 0;
          layer.setWeights([tf.randomUniform([n], 0.5, 1.5), tf.randomUniform([n], -0.2, 0.2), tf.randomUniform([n], -0.2, 0.2), tf.randomUniform([n], 0.5, 2)]);
        }
      });
      const exported = withPreprocessing(model, spec.preprocessing);
      models[name] = join(dir, `${name}.h5`);
      await writeKerasH5(exported.model, models[name]);
      ours[name] = Array.from((exported.model.predict(x) as tf.Tensor).dataSync());
      exported.dispose();
      model.dispose();
    }
    const keras = z.record(z.string(), z.array(z.number())).parse(JSON.parse((await runKerasPython(SCRIPT, { x: join(dir, 'x.f32'), shape: [2, SIZE, SIZE, 3], models })).trim().split('\n').at(-1) ?? '{}'));
    for (const name of NAMES) {
      const a = ours[name] ?? [];
      const b = keras[name] ?? [];
      assert.equal(b.length, 8, name);
      const diff = Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN))));
      assert.ok(diff < 1e-4, `${name}: max |keras - tfjs| = ${diff}`);
      assert.ok(new Set(a.map((v) => v.toFixed(4))).size > 2, `${name}: outputs depend on the input`);
    }
    x.dispose();
  });
});
