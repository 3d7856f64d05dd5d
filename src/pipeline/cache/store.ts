/**
 * Activations of one image set at the cut: `count` rows of `rowSize` values, float16 (as Uint16
 * bit patterns) or float32, in memory or in a file read row by row. Either way a batch is gathered
 * into one float32 buffer, the only float32 copy made.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { checkIndex } from '../data/checked.js';
import { decodeHalf } from './float16.js';

export type FeatureDtype = 'float16' | 'float32';

export interface FeatureStore {
  readonly count: number;
  readonly rowSize: number;
  readonly dtype: FeatureDtype;
  /** Rows at `indices`, decoded to float32, concatenated. */
  gather(indices: ArrayLike<number>): Float32Array;
  close(): void;
}

export const bytesPerValue = (dtype: FeatureDtype) => (dtype === 'float16' ? 2 : 4);

export class MemoryFeatureStore implements FeatureStore {
  constructor(
    readonly data: Uint16Array | Float32Array,
    readonly count: number,
    readonly rowSize: number,
  ) {}

  get dtype(): FeatureDtype {
    return this.data instanceof Uint16Array ? 'float16' : 'float32';
  }

  gather(indices: ArrayLike<number>): Float32Array {
    const out = new Float32Array(indices.length * this.rowSize);
    for (let i = 0; i < indices.length; i++) {
      const start = checkIndex(indices[i], this.count, 'activation cache (memory)') * this.rowSize;
      const row = this.data.subarray(start, start + this.rowSize);
      if (row instanceof Uint16Array) decodeHalf(row, out, i * this.rowSize);
      else out.set(row, i * this.rowSize);
    }
    return out;
  }

  close(): void {}
}

/** Rows read on demand from a cache file (for sets too large for memory). */
export class FileFeatureStore implements FeatureStore {
  readonly #fd: number;
  readonly #rowBytes: number;
  readonly #buffer: Buffer;

  constructor(
    path: string,
    private readonly dataOffset: number,
    readonly count: number,
    readonly rowSize: number,
    readonly dtype: FeatureDtype,
  ) {
    this.#fd = openSync(path, 'r');
    this.#rowBytes = rowSize * bytesPerValue(dtype);
    this.#buffer = Buffer.alloc(this.#rowBytes);
  }

  gather(indices: ArrayLike<number>): Float32Array {
    const out = new Float32Array(indices.length * this.rowSize);
    for (let i = 0; i < indices.length; i++) {
      const position = this.dataOffset + checkIndex(indices[i], this.count, 'activation cache (file)') * this.#rowBytes;
      const read = readSync(this.#fd, this.#buffer, 0, this.#rowBytes, position);
      if (read !== this.#rowBytes) throw new Error(`cache file truncated at row ${indices[i]}`);
      const bytes = this.#buffer.buffer.slice(this.#buffer.byteOffset, this.#buffer.byteOffset + this.#rowBytes);
      if (this.dtype === 'float16') decodeHalf(new Uint16Array(bytes), out, i * this.rowSize);
      else out.set(new Float32Array(bytes), i * this.rowSize);
    }
    return out;
  }

  close(): void {
    closeSync(this.#fd);
  }
}
