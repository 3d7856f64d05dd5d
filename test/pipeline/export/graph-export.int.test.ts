/**
 * A graph classifier with BatchNorm and a residual add, exported as model.h5: Python Keras's
 * load_model reads it (our BatchNorm and Dropout saved as the Keras layers they stand for) and
 * predicts what tfjs predicts, with the moving statistics training left in the BN layers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { execa } from 'execa';
import { initBackend } from '../../../src/pipeline/backend.js';
import { writeKerasH5 } from '../../../src/pipeline/export/keras-h5.js';
import { buildClassifier } from '../../../src/pipeline/model/build.js';
import { applyFreeze, planFreeze } from '../../../src/pipeline/model/freeze.js';
import { venvPython } from '../../support/python.js';
import { TINY_GRAPH } from '../../support/tiny-graph.js';

const SIZE = 8;

describe('graph model export (model.h5)', () => {
  let dir: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    dir = await mkdtemp(join(tmpdir(), 'transferkit-graph-export-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('loads in Keras with BatchNorm statistics, residual add and frozen flags, and predicts the same (1e-4)', async () => {
    const model = buildClassifier(TINY_GRAPH, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0.5, seed: 2 });
    applyFreeze(model, TINY_GRAPH, planFreeze(TINY_GRAPH, { convLayers: 0, blocks: 1 }));
    // Non-trivial BN statistics, so a loader that dropped or reordered them would predict otherwise.
    for (const layer of model.layers.filter((l) => l.getClassName() === 'BatchNormalization')) {
      const n = layer.getWeights()[0]?.shape[0] ?? 0;
      layer.setWeights([tf.randomUniform([n], 0.5, 1.5, 'float32', 1), tf.randomUniform([n], -0.5, 0.5, 'float32', 2), tf.randomUniform([n], -1, 1, 'float32', 3), tf.randomUniform([n], 0.2, 2, 'float32', 4)]);
    }
    const path = join(dir, 'model.h5');
    await writeKerasH5(model, path);
    const x = tf.randomUniform([3, SIZE, SIZE, 3], -1, 1, 'float32', 7);
    const input = join(dir, 'x.f32');
    await writeFile(input, Buffer.from(x.dataSync().buffer));
    const script = `
import sys, json, numpy as np, keras
m = keras.models.load_model(sys.argv[1])
x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(3, ${SIZE}, ${SIZE}, 3)
print(json.dumps({"p": m.predict(x, verbose=0).ravel().tolist(), "frozen": [l.name for l in m.layers if not l.trainable], "classes": {l.name: type(l).__name__ for l in m.layers}}))`;
    const res = await execa(venvPython(), ['-c', script, path, input], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    const out: unknown = JSON.parse(res.stdout.trim().split('\n').at(-1) ?? '{}');
    assert.ok(typeof out === 'object' && out !== null && 'p' in out && 'frozen' in out && 'classes' in out);
    const keras = Array.isArray(out.p) ? out.p.map(Number) : [];
    const ours = Array.from((model.predict(x) as tf.Tensor).dataSync());
    assert.equal(keras.length, ours.length);
    const diff = Math.max(...keras.map((v, i) => Math.abs(v - (ours[i] ?? Number.NaN))));
    assert.ok(diff < 1e-4, `max |keras - tfjs| = ${diff}`);
    assert.deepEqual(out.frozen, ['stem_conv', 'stem_bn', 'stem_relu', 'res1_a_conv', 'res1_a_bn', 'res1_a_relu', 'res1_b_conv', 'res1_b_bn', 'res1_add', 'res1_out']);
    const classes = typeof out.classes === 'object' && out.classes !== null ? new Map(Object.entries(out.classes)) : new Map<string, unknown>();
    assert.deepEqual([classes.get('stem_bn'), classes.get('res1_add'), classes.get('dropout')], ['BatchNormalization', 'Add', 'Dropout']);
    model.dispose();
  });
});
