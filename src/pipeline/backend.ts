/**
 * Chooses the TensorFlow.js backend. The native one (tfjs-node) is the default; the pure-JS `cpu`
 * backend is about 160× slower and is used only when asked for by name. Nothing falls back silently.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../errors.js';
import { installLeanStep } from './lean-step-kernel.js';

export interface BackendInfo {
  readonly name: 'tensorflow' | 'cpu';
  readonly tfjsVersion: string;
  /** TensorFlow C library version for the native backend. */
  readonly tensorflowVersion?: string;
}

function nativeVersion(): string | undefined {
  const backend: unknown = tf.backend();
  if (typeof backend !== 'object' || backend === null || !('binding' in backend)) return undefined;
  const binding: unknown = backend.binding;
  if (typeof binding !== 'object' || binding === null || !('TF_Version' in binding)) return undefined;
  return typeof binding.TF_Version === 'string' ? binding.TF_Version : undefined;
}

/** Loads tfjs-node, which registers the native backend. Injectable for tests. */
export type NativeLoader = () => Promise<unknown>;
const loadNative: NativeLoader = () => import('@tensorflow/tfjs-node');

export async function initBackend(name: 'tensorflow' | 'cpu', load: NativeLoader = loadNative): Promise<BackendInfo> {
  if (name === 'cpu') {
    await tf.setBackend('cpu');
    return { name: 'cpu', tfjsVersion: tf.version_core };
  }
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  try {
    await load();
  } catch (error) {
    throw new BackendError(
      `The native TensorFlow backend (@tensorflow/tfjs-node) failed to load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}. ` +
        'Build it with "bash scripts/install.sh", or pass backend=cpu to train on the pure-JS backend (about 160x slower).',
      { cause: error },
    );
  }
  const ok = tf.findBackend('tensorflow') !== null && (await tf.setBackend('tensorflow'));
  const active = ok ? tf.getBackend() : `${tf.getBackend()} (tensorflow is not registered)`;
  if (active !== 'tensorflow') {
    throw new BackendError(
      `Backend "tensorflow" was requested but "${active}" is active; refusing to train on it. Pass backend=cpu to use the pure-JS backend on purpose.`,
    );
  }
  installLeanStep();
  const tensorflowVersion = nativeVersion();
  return tensorflowVersion === undefined
    ? { name: 'tensorflow', tfjsVersion: tf.version_core }
    : { name: 'tensorflow', tfjsVersion: tf.version_core, tensorflowVersion };
}
