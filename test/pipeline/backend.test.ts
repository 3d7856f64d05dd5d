import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../src/errors.js';
import { initBackend } from '../../src/pipeline/backend.js';

describe('initBackend', () => {
  it('fails loudly, with the fix, when the native binding does not load', async () => {
    await assert.rejects(
      initBackend('tensorflow', () => Promise.reject(new Error('libtensorflow.so.2: cannot open shared object file'))),
      (e: unknown) =>
        e instanceof BackendError &&
        e.code === 'ERR_BACKEND' &&
        /native TensorFlow backend \(@tensorflow\/tfjs-node\) failed to load: libtensorflow\.so\.2/.test(e.message) &&
        /bash scripts\/install\.sh/.test(e.message) &&
        /backend=cpu/.test(e.message),
    );
  });

  it('refuses to train when the loader does not register the native backend', async () => {
    await assert.rejects(initBackend('tensorflow', () => Promise.resolve()), (e: unknown) => e instanceof BackendError && /refusing to train on it/.test(e.message));
  });

  it('uses the pure-JS backend only when asked for by name', async () => {
    const info = await initBackend('cpu', () => Promise.reject(new Error('must not be loaded')));
    assert.equal(info.name, 'cpu');
    assert.equal(tf.getBackend(), 'cpu');
  });

  it('reports the native backend and its TensorFlow version', async () => {
    const info = await initBackend('tensorflow');
    assert.equal(info.name, 'tensorflow');
    assert.equal(tf.getBackend(), 'tensorflow');
    assert.equal(info.tensorflowVersion, '2.21.0');
  });
});
