/**
 * Image files by content, without decoding: the format from the magic bytes (PNG, JPEG, GIF, BMP, the
 * formats TensorFlow's decoders read), the pixel size from the header (PNG IHDR, JPEG SOFn, GIF
 * logical screen × frames, BMP info header), and whether a file lacks its format's end marker.
 */

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'bmp';

/** What a header says: the pixels a decode would produce, or why it cannot be read. */
export type HeaderInfo =
  | { readonly kind: 'size'; readonly width: number; readonly height: number; readonly frames: number }
  | { readonly kind: 'truncated' | 'corrupt'; readonly reason: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** BMP DIB header sizes: core (12), OS/2 v2 (16, 64), info (40), v2/v3 (52, 56), v4 (108), v5 (124). */
const BMP_DIB_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

const u16be = (b: Uint8Array, i: number): number => ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
const u16le = (b: Uint8Array, i: number): number => (b[i] ?? 0) | ((b[i + 1] ?? 0) << 8);
const u32be = (b: Uint8Array, i: number): number => u16be(b, i) * 0x10000 + u16be(b, i + 2);
const u32le = (b: Uint8Array, i: number): number => u16le(b, i) + u16le(b, i + 2) * 0x10000;
const i32le = (b: Uint8Array, i: number): number => u32le(b, i) | 0;
const startsWith = (b: Uint8Array, sig: readonly number[]): boolean => sig.every((v, i) => b[i] === v);
const ascii = (b: Uint8Array, from: number, to: number): string => String.fromCharCode(...b.subarray(from, to));

/** The format from the first bytes (at least 18 for BMP), or undefined for anything else. */
export function sniffFormat(head: Uint8Array): ImageFormat | undefined {
  if (startsWith(head, PNG_SIGNATURE)) return 'png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (head.length >= 6 && (ascii(head, 0, 6) === 'GIF87a' || ascii(head, 0, 6) === 'GIF89a')) return 'gif';
  // "BM" alone starts many text files: also require a known DIB header size.
  if (head.length >= 18 && head[0] === 0x42 && head[1] === 0x4d && BMP_DIB_SIZES.has(u32le(head, 14))) return 'bmp';
  return undefined;
}

const truncated = (reason: string): HeaderInfo => ({ kind: 'truncated', reason });
const corrupt = (reason: string): HeaderInfo => ({ kind: 'corrupt', reason });
const size = (width: number, height: number, frames = 1): HeaderInfo =>
  width > 0 && height > 0 ? { kind: 'size', width, height, frames } : corrupt(`its header says ${width}×${height} pixels`);

/**
 * The size in the header of `bytes` (the file's start or all of it). GIF frames are counted only when
 * `complete` (all of the file was given); TensorFlow decodes every frame of a GIF, so all count.
 */
export function readHeader(format: ImageFormat, bytes: Uint8Array, complete: boolean): HeaderInfo {
  switch (format) {
    case 'png':
      if (bytes.length < 24) return truncated('the file ends inside the PNG header');
      if (ascii(bytes, 12, 16) !== 'IHDR') return corrupt('the first PNG chunk is not IHDR');
      return size(u32be(bytes, 16), u32be(bytes, 20));
    case 'jpeg':
      return jpegSize(bytes);
    case 'gif': {
      if (bytes.length < 10) return truncated('the file ends inside the GIF header');
      if (!complete) return size(u16le(bytes, 6), u16le(bytes, 8));
      const frames = gifFrames(bytes);
      return typeof frames === 'number' ? size(u16le(bytes, 6), u16le(bytes, 8), Math.max(frames, 1)) : frames;
    }
    case 'bmp': {
      if (u32le(bytes, 14) === 12) return size(u16le(bytes, 18), u16le(bytes, 20));
      if (bytes.length < 26) return truncated('the file ends inside the BMP header');
      return size(Math.abs(i32le(bytes, 18)), Math.abs(i32le(bytes, 22)));
    }
  }
}

const isSof = (m: number): boolean => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** Walks the JPEG marker segments up to the first SOFn (frame header: precision, height, width). */
function jpegSize(b: Uint8Array): HeaderInfo {
  let i = 2;
  for (;;) {
    if (i >= b.length) return truncated('the file ends before the JPEG frame header (SOF)');
    if (b[i] !== 0xff) return corrupt(`byte ${i} is not a JPEG marker`);
    while (b[i] === 0xff) i++;
    if (i >= b.length) return truncated('the file ends inside a JPEG marker');
    const marker = b[i] ?? 0;
    i++;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) continue; // no length
    if (marker === 0xd9 || marker === 0xda) return corrupt('the JPEG has no frame header (SOF) before its image data');
    if (i + 2 > b.length) return truncated('the file ends inside a JPEG segment length');
    const length = u16be(b, i);
    if (length < 2) return corrupt(`a JPEG segment at byte ${i} has length ${length}`);
    if (isSof(marker)) {
      if (i + 7 > b.length) return truncated('the file ends inside the JPEG frame header');
      return size(u16be(b, i + 5), u16be(b, i + 3));
    }
    i += length;
  }
}

/** Counts GIF image descriptors, walking the blocks: extensions and image data are sub-block chains. */
function gifFrames(b: Uint8Array): number | HeaderInfo {
  let i = 13;
  const flags = b[10] ?? 0;
  if ((flags & 0x80) !== 0) i += 3 * 2 ** ((flags & 7) + 1);
  let frames = 0;
  const skipSubBlocks = (): boolean => {
    while (i < b.length) {
      const n = b[i] ?? 0;
      i += 1 + n;
      if (n === 0) return true;
    }
    return false;
  };
  for (;;) {
    if (i >= b.length) return truncated('the file ends before the GIF trailer');
    const block = b[i] ?? 0;
    if (block === 0x3b) return frames;
    if (block === 0x21) {
      i += 2;
    } else if (block === 0x2c) {
      frames++;
      const local = b[i + 9] ?? 0;
      i += 10 + ((local & 0x80) !== 0 ? 3 * 2 ** ((local & 7) + 1) : 0) + 1; // descriptor, colour table, LZW code size
    } else {
      return corrupt(`unknown GIF block 0x${block.toString(16)} at byte ${i}`);
    }
    if (!skipSubBlocks()) return truncated('the file ends inside GIF data');
  }
}

/**
 * True when the file lacks what its format puts at the end (PNG IEND chunk, JPEG EOI marker, GIF
 * trailer) or is shorter than the size in its BMP header: a decode failure of such a file is counted
 * as `truncated`, any other as `corrupt`. Trailing zero bytes (padding some writers add) are ignored.
 */
export function looksTruncated(format: ImageFormat, bytes: Uint8Array): boolean {
  let end = bytes.length;
  if (format !== 'bmp') while (end > 0 && bytes[end - 1] === 0) end--;
  switch (format) {
    case 'png':
      return end < 12 || ascii(bytes, end - 8, end - 4) !== 'IEND';
    case 'jpeg':
      return end < 4 || bytes[end - 2] !== 0xff || bytes[end - 1] !== 0xd9;
    case 'gif':
      return bytes[end - 1] !== 0x3b;
    case 'bmp':
      return bytes.length < 6 || u32le(bytes, 2) > bytes.length;
  }
}
