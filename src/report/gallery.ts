/**
 * The misclassified test images of a report: the evaluation's most confident mistakes, cut out of
 * the test set (uint8, as loaded) and encoded as PNG data: URIs with tfjs-node's encoder. Encoding
 * needs the native backend active; with another one it is switched to for the encoding only. When it
 * cannot be had, the report says so and shows the mistakes' classes without images.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../pipeline/data/types.js';
import type { Evaluation } from '../pipeline/evaluate.js';
import type { ReportMistake, RunReportData } from './types.js';

type Encoder = (image: tf.Tensor3D) => Promise<Uint8Array>;

async function withPngEncoder<T>(use: (encode: Encoder) => Promise<T>): Promise<T> {
  const node = await import('@tensorflow/tfjs-node');
  const previous = tf.getBackend();
  if (previous !== 'tensorflow' && !(await tf.setBackend('tensorflow'))) throw new Error('the "tensorflow" backend could not be activated');
  try {
    return await use((image) => node.node.encodePng(image));
  } finally {
    if (previous !== 'tensorflow') await tf.setBackend(previous);
  }
}

/** Gallery images are at most this many pixels on a side (larger ones are scaled down). */
export const GALLERY_MAX_SIDE = 128;

/** The pixels of image `index` of `set` as a [height, width, channels] tensor, at most `maxSide` on a side. */
export function imageTensor(set: ImageSet, index: number, maxSide = GALLERY_MAX_SIDE): tf.Tensor3D {
  const size = set.height * set.width * set.channels;
  if (index < 0 || index >= set.count) throw new Error(`image ${index} is outside the set of ${set.count}`);
  const scale = Math.min(1, maxSide / Math.max(set.height, set.width));
  return tf.tidy(() => {
    const image = tf.tensor3d(set.images.subarray(index * size, (index + 1) * size), [set.height, set.width, set.channels], 'int32');
    if (scale === 1) return image;
    const target: [number, number] = [Math.max(1, Math.round(set.height * scale)), Math.max(1, Math.round(set.width * scale))];
    return tf.cast(tf.round(tf.image.resizeBilinear(tf.cast(image, 'float32'), target, false, true)), 'int32');
  });
}

export async function mistakesOf(evaluation: Evaluation, set: ImageSet, classNames: readonly string[]): Promise<RunReportData['mistakes']> {
  const total = evaluation.count - evaluation.confusion.reduce((sum, row, i) => sum + (row[i] ?? 0), 0);
  const list = evaluation.mistakes;
  if (list === undefined) {
    return { total, shown: [], note: 'The test evaluation was read back from a checkpoint, which does not keep per-image predictions.' };
  }
  const name = (c: number) => classNames[c] ?? String(c);
  try {
    const shown = await withPngEncoder(async (encode) => {
      const out: ReportMistake[] = [];
      for (const m of list) {
        const image = imageTensor(set, m.index);
        try {
          const png = Buffer.from(await encode(image)).toString('base64');
          out.push({ index: m.index, trueClass: name(m.label), predictedClass: name(m.predicted), probability: m.probability, png: `data:image/png;base64,${png}` });
        } finally {
          image.dispose();
        }
      }
      return out;
    });
    return { total, shown, note: undefined };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] ?? '' : String(error);
    return { total, shown: [], note: `The images could not be encoded (${reason}).` };
  }
}
