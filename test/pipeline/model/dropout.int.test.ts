/** Dropout draws a new mask every step, the same one for the same step, and saves as Keras Dropout. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { StepDropout, setDropoutStep } from '../../../src/pipeline/model/dropout.js';

const mask = (layer: StepDropout, x: tf.Tensor) => tf.tidy(() => {
  const y = layer.apply(x, { training: true });
  if (Array.isArray(y) || !(y instanceof tf.Tensor)) throw new Error('one tensor expected');
  return Array.from(y.dataSync()).map((v) => (v === 0 ? 0 : 1)).join('');
});

describe('StepDropout', () => {
  it('draws a different mask per step and the same mask for the same step (tfjs seeded Dropout repeats one mask)', () => {
    const layer = new StepDropout({ name: 'dropout', rate: 0.5, seed: 7 });
    const x = tf.ones([1, 64]);
    const masks = [0, 1, 2, 3].map((step) => {
      layer.setStep(step);
      return mask(layer, x);
    });
    assert.equal(new Set(masks).size, 4, 'four steps, four masks');
    layer.setStep(2);
    assert.equal(mask(layer, x), masks[2]);
    const dropped = (masks[0] ?? '').split('').filter((c) => c === '0').length;
    assert.ok(dropped > 16 && dropped < 48, `about half dropped (${dropped}/64)`);
    const stock = tf.layers.dropout({ rate: 0.5, seed: 7 });
    const a = tf.tidy(() => Array.from((stock.apply(x, { training: true }) as tf.Tensor).dataSync()).join());
    const b = tf.tidy(() => Array.from((stock.apply(x, { training: true }) as tf.Tensor).dataSync()).join());
    assert.equal(a, b, 'the stock layer repeats its mask: the reason this layer exists');
    x.dispose();
  });

  it('is the identity at inference and serializes as a Keras Dropout that tfjs loads back', async () => {
    const model = tf.sequential({ layers: [tf.layers.dense({ units: 4, inputShape: [3], name: 'fc' }), new StepDropout({ name: 'dropout', rate: 0.5, seed: 1 })] });
    setDropoutStep(model, 5);
    const x = tf.ones([2, 3]);
    const y = model.predict(x);
    const z = model.getLayer('fc').apply(x);
    assert.ok(y instanceof tf.Tensor && z instanceof tf.Tensor);
    assert.deepEqual(Array.from(y.dataSync()), Array.from(z.dataSync()));
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-dropout-'));
    try {
      await model.save(`file://${dir}`);
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as unknown;
      assert.match(JSON.stringify(json), /"class_name":"Dropout","config":\{[^}]*"rate":0\.5/);
      const loaded = await tf.loadLayersModel(`file://${join(dir, 'model.json')}`);
      assert.equal(loaded.layers[1]?.getClassName(), 'Dropout');
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
      tf.dispose([x, y, z]);
      model.dispose();
    }
  });
});
