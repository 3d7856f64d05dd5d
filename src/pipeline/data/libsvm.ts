/**
 * Images in LIBSVM's sparse text format, as the USPS digits are published (`usps.bz2`,
 * `usps.t.bz2`): one image per line, `label index:value ...`, 1-based feature indices in row-major
 * pixel order, values scaled to [-1, 1] (an absent index is 0, mid-grey). bzip2-compressed files
 * are decompressed in JavaScript (seek-bzip); nothing is executed or unpickled.
 */
import Bunzip from 'seek-bzip';
import { DataError } from '../../errors.js';
import type { ImageSet } from './types.js';

export interface LibsvmImageFormat {
  /** Images are side × side grayscale. */
  readonly side: number;
  /** Subtracted from each label (USPS labels digits 0-9 as 1-10). */
  readonly labelOffset: number;
  readonly numClasses: number;
}

/** bzip2 → bytes, or a DataError naming the file. */
export function bunzip2(bytes: Uint8Array, file: string): Buffer {
  try {
    return Bunzip.decode(bytes);
  } catch (error) {
    throw new DataError(`${file} is not a valid bzip2 file (truncated or damaged): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export function parseLibsvmImages(text: string, format: LibsvmImageFormat, file: string): ImageSet {
  const size = format.side * format.side;
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const images = new Uint8Array(lines.length * size);
  const labels = new Int32Array(lines.length);
  const bad = (row: number, what: string): never => {
    throw new DataError(`${file} line ${row + 1}: ${what}; expected "label index:value ..." with indices 1-${size} and values in [-1, 1]`);
  };
  lines.forEach((line, row) => {
    const [head, ...pairs] = line.trim().split(/\s+/);
    const label = Number(head) - format.labelOffset;
    if (!Number.isInteger(label) || label < 0 || label >= format.numClasses) bad(row, `label ${JSON.stringify(head)} is not a class 0-${format.numClasses - 1} (+${format.labelOffset})`);
    labels[row] = label;
    images.fill(128, row * size, (row + 1) * size);
    for (const pair of pairs) {
      const colon = pair.indexOf(':');
      const index = Number(pair.slice(0, colon));
      const value = Number(pair.slice(colon + 1));
      if (colon <= 0 || !Number.isInteger(index) || index < 1 || index > size) bad(row, `feature ${JSON.stringify(pair)} has no index 1-${size}`);
      if (!Number.isFinite(value) || value < -1.0001 || value > 1.0001) bad(row, `feature ${JSON.stringify(pair)} is outside [-1, 1]`);
      images[row * size + index - 1] = Math.round(Math.min(1, Math.max(-1, value)) * 127.5 + 127.5);
    }
  });
  if (lines.length === 0) throw new DataError(`${file} holds no images`);
  return { images, labels, count: lines.length, height: format.side, width: format.side, channels: 1 };
}
