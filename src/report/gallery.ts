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

/** The pixels of image `index` of `set` as a [height, width, channels] tensor. */
export function imageTensor(set: ImageSet, index: number): tf.Tensor3D {
  const size = set.height * set.width * set.channels;
  if (index < 0 || index >= set.count) throw new Error(`image ${index} is outside the set of ${set.count}`);
  return tf.tensor3d(set.images.subarray(index * size, (index + 1) * size), [set.height, set.width, set.channels], 'int32');
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
