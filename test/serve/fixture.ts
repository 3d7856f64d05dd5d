/** A real, small model folder for the serve tests: small-cnn at 16×16, 3 classes, as train exports it. */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../src/pipeline/backend.js';
import { exportModelDir } from '../../src/pipeline/export/model-dir.js';
import { modelMeta } from '../../src/pipeline/export/meta.js';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../src/pipeline/model/build.js';

export const SIZE = 16;
export const CLASS_NAMES = ['cat', 'dog', 'bird'] as const;

/** Writes the model folder under a new temp dir; returns the folder and the temp dir (to remove). */
export async function makeModelDir(): Promise<{ readonly root: string; readonly modelDir: string }> {
  await initBackend('tensorflow');
  const spec = BACKBONES['small-cnn'];
  const root = await mkdtemp(join(tmpdir(), 'transferkit-serve-'));
  const model = buildClassifier(spec, SIZE, { numClasses: CLASS_NAMES.length, denseUnits: 8, dropout: 0.5, seed: 3 });
  const meta = modelMeta({ spec, inputSize: SIZE, dataset: 'test', classIds: [0, 1, 2], classNames: [...CLASS_NAMES], baseWeights: 'none' });
  const modelDir = join(root, 'model');
  await exportModelDir(model, modelDir, meta, spec.preprocessing);
  model.dispose();
  return { root, modelDir };
}

/** `n` images of deterministic raw RGB values in [0, 255], as nested lists [n][SIZE][SIZE][3]. */
export function nestedPixels(n: number, seed: number): number[][][][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % 256;
  };
  return Array.from({ length: n }, () => Array.from({ length: SIZE }, () => Array.from({ length: SIZE }, () => [next(), next(), next()])));
}

export const flatten = (images: readonly number[][][][]): Float32Array => Float32Array.from(images.flat(3));
