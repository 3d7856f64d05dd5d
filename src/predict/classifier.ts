/**
 * A model folder written by transferkit, loaded for predictions: the tfjs layers model (raw RGB
 * pixels in, class probabilities out, transferkit.json version 2) and its input contract. Shared by
 * `transferkit predict` and `transferkit serve`. Every file is checked before use: a missing or
 * corrupt file, or a folder of another kind, is a ModelError naming the file and what was expected.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { InputError, ModelError } from '../errors.js';
import { initBackend } from '../pipeline/backend.js';
import { META_FILE, type InputContract, type ModelMeta } from '../pipeline/export/meta.js';
import { readModelMeta } from '../pipeline/export/read-meta.js';

export interface Classifier {
  readonly dir: string;
  readonly meta: ModelMeta;
  readonly contract: InputContract;
  readonly inputSize: number;
  readonly classNames: readonly string[];
  /** `pixels`: raw RGB values in [0, 255], `n × size × size × 3`, row-major. Returns `n × classes` probabilities. */
  predict(pixels: Float32Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

const readMeta = (dir: string) => readModelMeta(dir, (message, cause) => new ModelError(message, cause === undefined ? {} : { cause }));

export async function loadClassifier(folder: string): Promise<Classifier> {
  await initBackend('tensorflow'); // native TensorFlow, and its file:// model loader
  const dir = resolve(folder);
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) throw new ModelError(`model folder ${dir} does not exist; expected a folder holding model.json, weights.bin and transferkit.json`);
  const meta = await readMeta(dir);
  const contract = meta.input;
  if (meta.version !== 2 || contract === undefined) {
    throw new ModelError(`the model in ${dir} is a version ${meta.version} transferkit model (made by ${meta.created_by}), which expects preprocessed input; models that take raw pixels are version 2: train it again with this transferkit`);
  }
  let model: tf.LayersModel;
  try {
    model = await tf.loadLayersModel(`file://${join(dir, 'model.json')}`);
  } catch (error) {
    throw new ModelError(`cannot load ${join(dir, 'model.json')} with its weights: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, { cause: error });
  }
  const [h, w, c] = contract.shape;
  const inShape = model.inputs[0]?.shape;
  const outUnits = model.outputs[0]?.shape.at(-1);
  if (inShape?.[1] !== h || inShape[2] !== w || inShape[3] !== c || outUnits !== meta.class_names.length) {
    model.dispose();
    throw new ModelError(`the model in ${dir} takes [${inShape?.slice(1).join(', ') ?? '?'}] and gives ${String(outUnits)} classes, but ${META_FILE} says [${contract.shape.join(', ')}] and ${meta.class_names.length} classes`);
  }
  const size = h * w * c;
  return {
    dir,
    meta,
    contract,
    inputSize: h,
    classNames: meta.class_names,
    async predict(pixels, n) {
      if (pixels.length !== n * size) throw new InputError(`expected ${n} image(s) of ${h}×${w}×${c} = ${n * size} values, got ${pixels.length}`);
      const out = tf.tidy(() => {
        const y = model.predict(tf.tensor4d(pixels, [n, h, w, c]));
        if (Array.isArray(y)) throw new ModelError(`the model in ${dir} has several outputs`);
        return y;
      });
      try {
        return Float32Array.from(await out.data());
      } finally {
        out.dispose();
      }
    },
    dispose: () => model.dispose(),
  };
}

/** The `k` most probable classes of one row of probabilities, most probable first. */
export function topK(probabilities: ArrayLike<number>, classNames: readonly string[], k: number): Array<{ readonly class: string; readonly index: number; readonly probability: number }> {
  return Array.from({ length: classNames.length }, (_, i) => ({ class: classNames[i] ?? String(i), index: i, probability: probabilities[i] ?? 0 }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, Math.max(1, k));
}
