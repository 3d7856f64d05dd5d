/** Real image files for the folder dataset tests: PNG/JPEG encoded by tfjs-node, BMP and GIF by hand, and broken copies. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-node';

export type Rgb = readonly [number, number, number];

/** An h×w image of one colour, or of `pixel(y, x)`. */
export function pixels(h: number, w: number, colour: Rgb | ((y: number, x: number) => Rgb)): Uint8Array {
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set(typeof colour === 'function' ? colour(y, x) : colour, (y * w + x) * 3);
  }
  return out;
}

export async function png(h: number, w: number, colour: Rgb | ((y: number, x: number) => Rgb)): Promise<Uint8Array> {
  const t = tf.tensor3d(pixels(h, w, colour), [h, w, 3], 'int32');
  try {
    return await tf.node.encodePng(t);
  } finally {
    t.dispose();
  }
}

export async function jpeg(h: number, w: number, colour: Rgb | ((y: number, x: number) => Rgb)): Promise<Uint8Array> {
  const t = tf.tensor3d(pixels(h, w, colour), [h, w, 3], 'int32');
  try {
    return await tf.node.encodeJpeg(t, 'rgb', 95);
  } finally {
    t.dispose();
  }
}

/** An uncompressed 24-bit bottom-up BMP (BITMAPINFOHEADER). */
export function bmp(h: number, w: number, colour: Rgb): Uint8Array {
  const stride = Math.ceil((w * 3) / 4) * 4;
  const out = Buffer.alloc(54 + stride * h);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(w, 18);
  out.writeInt32LE(h, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(stride * h, 34);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) out.set([colour[2], colour[1], colour[0]], 54 + y * stride + x * 3);
  }
  return out;
}

/** The classic 1×1 GIF89a (one white pixel, a graphic control extension, one frame). */
export const GIF_1X1 = Buffer.from('R0lGODlhAQABAIAAAP///wAAACH5BAAAAAAALAAAAAABAAEAAAICRAEAOw==', 'base64');

/** A PNG whose IHDR claims width × height, with no pixel data (never decodable). */
export function pngHeaderOnly(width: number, height: number): Uint8Array {
  const out = Buffer.alloc(8 + 25 + 12);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(out, 0);
  out.writeUInt32BE(13, 8);
  out.write('IHDR', 12, 'latin1');
  out.writeUInt32BE(width, 16);
  out.writeUInt32BE(height, 20);
  out.set([8, 2, 0, 0, 0], 24); // 8-bit RGB
  out.writeUInt32BE(0, 29); // CRC (not checked by the header reader)
  out.write('IEND', 37, 'latin1');
  out.writeUInt32BE(0xae426082, 41); // IEND's CRC
  return out;
}

/** The first `fraction` of the bytes. */
export const truncate = (bytes: Uint8Array, fraction: number): Uint8Array => bytes.slice(0, Math.floor(bytes.length * fraction));

/** A copy with bytes [from, to) overwritten by a fixed pattern: right magic and end marker, garbage inside. */
export function garble(bytes: Uint8Array, from: number, to: number): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = Math.floor(from); i < Math.min(to, out.length); i++) out[i] = (i * 31 + 7) & 0xff;
  return out;
}

export async function put(path: string, content: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
}
