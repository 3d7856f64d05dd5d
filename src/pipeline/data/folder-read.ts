/**
 * One file of an image folder, to pixels or to the reason it is skipped: not an image by its magic
 * bytes (`ignored`), more pixels than allowed by its header (`too_large`, never decoded), a decode
 * failure of a file missing its end (`truncated`) or of any other (`corrupt`), or an I/O error
 * (`unreadable`). Only the first 64 KiB are read until the file is known to be an acceptable image.
 */
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import type { ImageDecoder } from './image-decode.js';
import { looksTruncated, readHeader, sniffFormat } from './image-header.js';

export const SKIP_REASONS = ['ignored', 'corrupt', 'truncated', 'too_large', 'unreadable'] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

export type ReadOutcome =
  | { readonly kind: 'image'; readonly pixels: Uint8Array; readonly sha256: string }
  | { readonly kind: SkipReason; readonly detail: string };

export interface ReadImageOptions {
  readonly imageSize: number;
  /** Largest width × height (× frames, for GIF) that is decoded. */
  readonly maxPixels: number;
  readonly decoder: ImageDecoder;
}

const HEAD_BYTES = 64 * 1024;

/** One line; tfjs-node's "Invalid TF_Status: 3\nMessage: …" reduced to the message. */
const message = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/^Invalid TF_Status: \d+\s*Message:\s*/, '').split('\n').join(' ');

async function readHead(path: string): Promise<{ head: Buffer; fileBytes: number }> {
  const handle = await open(path, 'r');
  try {
    const fileBytes = (await handle.stat()).size;
    const head = Buffer.alloc(Math.min(HEAD_BYTES, fileBytes));
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return { head: head.subarray(0, bytesRead), fileBytes };
  } finally {
    await handle.close();
  }
}

export async function readImageFile(path: string, options: ReadImageOptions): Promise<ReadOutcome> {
  let head: Buffer;
  let fileBytes: number;
  try {
    ({ head, fileBytes } = await readHead(path));
  } catch (error) {
    return { kind: 'unreadable', detail: message(error) };
  }
  const format = sniffFormat(head);
  if (format === undefined) return { kind: 'ignored', detail: 'not a PNG, JPEG, GIF or BMP file' };
  const tooLarge = (pixels: number, what: string): ReadOutcome | undefined =>
    (pixels > options.maxPixels ? { kind: 'too_large', detail: `${what} = ${pixels} pixels, more than the limit of ${options.maxPixels}` } : undefined);

  let header = readHeader(format, head, head.length === fileBytes);
  if (header.kind === 'size') {
    const over = tooLarge(header.width * header.height, `${header.width}×${header.height}`);
    if (over !== undefined) return over;
  }
  let bytes: Buffer = head;
  if (head.length < fileBytes) {
    try {
      bytes = await readFile(path);
    } catch (error) {
      return { kind: 'unreadable', detail: message(error) };
    }
    header = readHeader(format, bytes, true);
  }
  if (header.kind !== 'size') return { kind: header.kind, detail: `${format.toUpperCase()}: ${header.reason}` };
  const over = tooLarge(header.width * header.height * header.frames,
    `${header.width}×${header.height}${header.frames > 1 ? `×${header.frames} frames` : ''}`);
  if (over !== undefined) return over;

  let pixels: Uint8Array;
  try {
    pixels = options.decoder.decodeResized(bytes, options.imageSize);
  } catch (error) {
    return { kind: looksTruncated(format, bytes) ? 'truncated' : 'corrupt', detail: `${format.toUpperCase()} decode failed: ${message(error)}` };
  }
  return { kind: 'image', pixels, sha256: createHash('sha256').update(bytes).digest('hex') };
}
