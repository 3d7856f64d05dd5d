/**
 * Decoding one image file to uint8 RGB at a fixed square size, with tfjs-node's native decoders
 * (TensorFlow's DecodePng / DecodeJpeg / DecodeGif / DecodeBmp) and a bilinear, half-pixel-centre
 * resize (as TF2's `tf.image.resize` and the batch pipeline in model/input.ts do).
 *
 * Observed with tfjs-node 4.22 on TensorFlow 2.21 (test/pipeline/data/folder.test.ts checks it): a
 * truncated PNG or JPEG, or one with garbage after a valid header, makes `decodeImage` THROW
 * ("Invalid PNG data", "jpeg::Uncompress failed. Invalid JPEG data or crop window."); nothing is
 * decoded partially, because tfjs passes `tryRecoverTruncated = false` and `acceptableFraction = 1`.
 * libjpeg also prints "Premature end of JPEG data" to stderr, which cannot be turned off from here.
 * So a file either decodes completely or is skipped; never half an image. The one thing no decoder
 * notices: bytes damaged inside a JPEG's compressed data, without breaking its markers, decode
 * without error to wrong pixels (libjpeg resynchronises); such a file is kept.
 */
import * as tf from '@tensorflow/tfjs';
import { BackendError } from '../../errors.js';

export interface ImageDecoder {
  /** RGB pixels, HWC, `size`×`size`. Throws when TensorFlow cannot decode `bytes`. */
  decodeResized(bytes: Uint8Array, size: number): Uint8Array;
}

type TfNode = typeof import('@tensorflow/tfjs-node');

/**
 * Runs `use` with the native decoder. TensorFlow's decode ops need the `tensorflow` backend to be the
 * active one: when another was chosen (`backend=cpu`), it is switched to for the decoding only and
 * switched back afterwards (no tensor outlives the decoding).
 */
export async function withNativeDecoder<T>(use: (decoder: ImageDecoder) => Promise<T>): Promise<T> {
  let node: TfNode;
  try {
    node = await import('@tensorflow/tfjs-node');
  } catch (error) {
    throw new BackendError(
      `Reading image folders needs the native TensorFlow backend's image decoders (@tensorflow/tfjs-node), which failed to load: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}. Build it with "bash scripts/install.sh".`,
      { cause: error },
    );
  }
  const previous = tf.getBackend();
  if (previous !== 'tensorflow' && !(await tf.setBackend('tensorflow'))) {
    throw new BackendError(`Reading image folders needs the "tensorflow" backend, which could not be activated (active: ${previous})`);
  }
  try {
    return await use({ decodeResized: (bytes, size) => decodeResized(node, bytes, size) });
  } finally {
    if (previous !== 'tensorflow') await tf.setBackend(previous);
  }
}

function decodeResized(node: TfNode, bytes: Uint8Array, size: number): Uint8Array {
  const resized = tf.tidy(() => {
    // expandAnimations = false: a GIF gives its first frame, like every other format, as [h, w, 3].
    const image = node.node.decodeImage(bytes, 3, 'int32', false);
    if (image.rank !== 3 || image.shape[2] !== 3) throw new Error(`decoded to shape [${image.shape.join(', ')}], expected [height, width, 3]`);
    const hwc = tf.reshape<tf.Rank.R3>(tf.cast(image, 'float32'), [image.shape[0] ?? 0, image.shape[1] ?? 0, 3]);
    return tf.image.resizeBilinear(hwc, [size, size], false, true);
  });
  try {
    const values = resized.dataSync();
    const out = new Uint8Array(values.length);
    // Bilinear weights are convex, so values stay in [0, 255]; round, not truncate.
    for (let i = 0; i < values.length; i++) out[i] = Math.round(values[i] ?? 0);
    return out;
  } finally {
    resized.dispose();
  }
}
