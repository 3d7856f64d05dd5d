/**
 * Activations of the frozen prefix for one image set, computed once and reused: from the disk
 * cache when a valid entry exists (hit), else computed batch by batch and stored (miss). Kept in
 * memory when they fit the budget, else read from the cache file row by row. If the cache folder
 * cannot be written, the run goes on with in-memory activations (or none) and says so.
 */
import { mkdir, rm } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { ImageSet } from '../data/types.js';
import { imageBatch, type InputSpec } from '../model/input.js';
import type { Progress, ProgressTask } from '../progress.js';
import { outOfMemory } from '../train/oom.js';
import { batchRanges } from '../train/source.js';
import { HEADER_BYTES, cacheFile, checkCacheFile, evictToFit, writeCacheFile } from './disk.js';
import { encodeHalf } from './float16.js';
import { bytesPerValue, FileFeatureStore, MemoryFeatureStore, type FeatureDtype, type FeatureStore } from './store.js';

export interface ActivationCacheOptions {
  /** Folder for cache files; undefined keeps activations in memory only. */
  readonly dir: string | undefined;
  readonly dtype: FeatureDtype;
  readonly memoryBudgetBytes: number;
  readonly maxDiskBytes: number;
  readonly batchSize: number;
  readonly logger: Logger;
  readonly now: () => number;
  /** A bar while activations are computed (not on a cache hit), named `label`. */
  readonly progress?: Progress;
  readonly label?: string;
}

export interface CachedActivations {
  readonly store: FeatureStore;
  readonly status: 'hit' | 'miss' | 'memory';
  readonly bytes: number;
  /** Time computing these activations took (now, or when they were cached). */
  readonly computeSeconds: number;
}

/** Activations beyond float16's range: the same error whether they were to stay in memory or go to the cache file. */
export class Float16OverflowError extends TrainingError {}

function alloc(dtype: FeatureDtype, n: number): Uint16Array | Float32Array {
  return dtype === 'float16' ? new Uint16Array(n) : new Float32Array(n);
}

/**
 * What computes the frozen prefix's activations: the inference-compiled forward
 * (model/infer/frozen-forward.ts) or the prefix model itself (its `predict`).
 */
export interface PrefixForward {
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
}

/** The frozen prefix's output for one batch of images, read back from TensorFlow. */
async function prefixOutput(prefix: PrefixForward, images: () => tf.Tensor): Promise<Awaited<ReturnType<tf.Tensor['data']>>> {
  const out = tf.tidy(() => {
    const y = prefix.predict(images());
    if (Array.isArray(y)) throw new Error('the frozen prefix has several outputs');
    return y;
  });
  try {
    return await out.data();
  } finally {
    out.dispose();
  }
}

/** Runs the prefix over the set batch by batch, yielding each batch's rows in the storage dtype. */
async function* computeRows(prefix: PrefixForward, set: ImageSet, input: InputSpec, o: ActivationCacheOptions, rowSize: number) {
  const task: ProgressTask | undefined = o.progress?.start(o.label ?? 'activation cache', set.count, 'images');
  try {
    yield* computeBatches(prefix, set, input, o, rowSize, task);
  } finally {
    task?.end();
  }
}

async function* computeBatches(prefix: PrefixForward, set: ImageSet, input: InputSpec, o: ActivationCacheOptions, rowSize: number, task: ProgressTask | undefined) {
  const all = Int32Array.from({ length: set.count }, (_, i) => i);
  for (const [start, end] of batchRanges(set.count, o.batchSize)) {
    const values = await prefixOutput(prefix, () => imageBatch(set, all.subarray(start, end), input)).catch((error: unknown) => {
      throw outOfMemory(error, o.batchSize, 'building the activation cache') ?? error;
    });
    if (!(values instanceof Float32Array)) throw new Error(`the frozen prefix's output is not float32`);
    if (values.length !== (end - start) * rowSize) throw new Error(`prefix output has ${values.length} values, expected ${(end - start) * rowSize}`);
    const rows = alloc(o.dtype, values.length);
    if (rows instanceof Uint16Array) {
      const overflow = encodeHalf(values, rows);
      if (overflow > 0) {
        throw new Float16OverflowError(
          `${overflow} activations of the frozen layers (${o.label ?? 'activation cache'}, images ${start + 1}-${end}) exceed float16's range (±65504); ` +
            'rerun with cache_dtype=float32 (or activation_cache=off)',
        );
      }
    } else rows.set(values);
    task?.advance(end - start);
    yield new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength);
  }
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * The rows as `computeRows` yields them, remembering a failure to compute them, so a caller that
 * falls back when the cache file cannot be written still stops on float16 overflow or out of memory.
 */
class ComputeOnce {
  failure: { readonly error: unknown } | undefined;
  constructor(private readonly rows: AsyncGenerator<Uint8Array>) {}
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      yield* this.rows;
    } catch (error) {
      this.failure = { error };
      throw error;
    }
  }
}

export async function cachedActivations(
  prefix: PrefixForward,
  set: ImageSet,
  input: InputSpec,
  key: string,
  rowSize: number,
  o: ActivationCacheOptions,
): Promise<CachedActivations | undefined> {
  const bytes = set.count * rowSize * bytesPerValue(o.dtype);
  const fits = bytes <= o.memoryBudgetBytes;
  const dir = o.dir;
  if (dir !== undefined) {
    const path = cacheFile(dir, key);
    const check = await checkCacheFile(path, key, fits);
    if (check.ok && check.header.count === set.count && check.header.rowSize === rowSize && check.header.dtype === o.dtype) {
      const body = check.body?.buffer;
      const store =
        body === undefined
          ? new FileFeatureStore(path, HEADER_BYTES, set.count, rowSize, o.dtype)
          : new MemoryFeatureStore(o.dtype === 'float16' ? new Uint16Array(body) : new Float32Array(body), set.count, rowSize);
      return { store, status: 'hit', bytes, computeSeconds: check.header.computeSeconds };
    }
    if (!check.ok && check.reason !== 'missing') {
      o.logger.warn({ file: path, reason: check.reason }, 'activation cache file is not valid; rebuilding it');
      await rm(path, { force: true });
    }
  }
  const t0 = o.now();
  if (fits) {
    const data = alloc(o.dtype, set.count * rowSize);
    let offset = 0;
    for await (const chunk of computeRows(prefix, set, input, o, rowSize)) {
      new Uint8Array(data.buffer).set(chunk, offset);
      offset += chunk.byteLength;
    }
    const computeSeconds = (o.now() - t0) / 1000;
    const store = new MemoryFeatureStore(data, set.count, rowSize);
    if (dir === undefined) return { store, status: 'memory', bytes, computeSeconds };
    try {
      await mkdir(dir, { recursive: true });
      async function* rows() {
        yield new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      }
      const path = await writeCacheFile(dir, { key, count: set.count, rowSize, dtype: o.dtype }, rows(), () => computeSeconds);
      await evictToFit(dir, o.maxDiskBytes, new Set([path]));
    } catch (error) {
      o.logger.warn({ dir, reason: reason(error) }, 'cannot write the activation cache; keeping activations in memory for this run only');
      return { store, status: 'memory', bytes, computeSeconds };
    }
    return { store, status: 'miss', bytes, computeSeconds };
  }
  if (dir === undefined) return undefined;
  const rows = new ComputeOnce(computeRows(prefix, set, input, o, rowSize));
  try {
    await mkdir(dir, { recursive: true });
    await evictToFit(dir, Math.max(0, o.maxDiskBytes - bytes), new Set());
    const computeSeconds = () => (o.now() - t0) / 1000;
    const path = await writeCacheFile(dir, { key, count: set.count, rowSize, dtype: o.dtype }, rows, computeSeconds);
    return { store: new FileFeatureStore(path, HEADER_BYTES, set.count, rowSize, o.dtype), status: 'miss', bytes, computeSeconds: computeSeconds() };
  } catch (error) {
    if (rows.failure !== undefined) throw rows.failure.error;
    o.logger.warn({ dir, reason: reason(error), bytes }, 'activations do not fit in memory and cannot be cached on disk; training without the cache');
    return undefined;
  }
}
