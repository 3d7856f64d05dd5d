/**
 * `POST /predict-image` uploads: raw PNG, JPEG, GIF or BMP bytes to the model's input, decoded and
 * resized as training reads image folders (data/folder-read.ts): the format from the magic bytes,
 * the header's size checked against the max-pixels guard before anything is decoded, then
 * TensorFlow's decoder and the bilinear half-pixel resize. Anything else is a 400 naming why.
 */
import type { ImageDecoder } from '../pipeline/data/image-decode.js';
import { MAX_PIXELS_ENV } from '../pipeline/data/folder.js';
import { looksTruncated, readHeader, sniffFormat } from '../pipeline/data/image-header.js';
import { RequestError, badRequest } from './http-error.js';

export const IMAGE_CONTENT_TYPES = 'image/* (image/png, image/jpeg, image/gif, image/bmp) or application/octet-stream';

export function checkImageContentType(header: string | undefined): void {
  const mime = (header ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (mime.startsWith('image/') || mime === 'application/octet-stream') return;
  throw new RequestError(415, 'UNSUPPORTED_MEDIA_TYPE', `POST /predict-image takes the raw bytes of one image with Content-Type ${IMAGE_CONTENT_TYPES}; got ${header === undefined ? 'no Content-Type header' : `'${header}'`}`);
}

export interface UploadOptions {
  /** The model's input size: images are resized to size × size. */
  readonly size: number;
  /** Largest width × height (× frames, for GIF) that is decoded. */
  readonly maxPixels: number;
  readonly decoder: ImageDecoder;
}

/** tfjs-node's "Invalid TF_Status: 3\nMessage: …" reduced to the message, on one line. */
const oneLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/^Invalid TF_Status: \d+\s*Message:\s*/, '').split('\n').join(' ');

const hex = (bytes: Uint8Array): string => Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');

/** One uploaded image → `size × size × 3` raw RGB values, as float32. */
export function decodeUpload(bytes: Uint8Array, o: UploadOptions): Float32Array {
  if (bytes.length === 0) throw badRequest('The upload is empty; expected the bytes of one PNG, JPEG, GIF or BMP image');
  const format = sniffFormat(bytes);
  if (format === undefined) {
    throw badRequest(`The upload (${bytes.length} bytes, starting ${hex(bytes)}) is not a PNG, JPEG, GIF or BMP image; send the file's bytes as they are, with Content-Type ${IMAGE_CONTENT_TYPES}`);
  }
  const name = format.toUpperCase();
  const header = readHeader(format, bytes, true);
  if (header.kind !== 'size') throw badRequest(`The ${name} upload (${bytes.length} bytes) is ${header.kind}: ${header.reason}`);
  const pixels = header.width * header.height * header.frames;
  if (pixels > o.maxPixels) {
    const dims = `${header.width}×${header.height}${header.frames > 1 ? `×${header.frames} frames` : ''}`;
    throw badRequest(`The ${name} upload is ${dims} = ${pixels} pixels, more than the limit of ${o.maxPixels} (${MAX_PIXELS_ENV}); it was not decoded`);
  }
  let rgb: Uint8Array;
  try {
    rgb = o.decoder.decodeResized(bytes, o.size);
  } catch (error) {
    const kind = looksTruncated(format, bytes) ? 'truncated' : 'corrupt';
    throw badRequest(`The ${name} upload (${bytes.length} bytes) is ${kind}: decoding failed: ${oneLine(error)}`, error);
  }
  return Float32Array.from(rgb);
}
