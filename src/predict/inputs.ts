/**
 * What `predict` classifies, as batches of raw RGB pixels at the model's input size: image files,
 * folders of images (recursively, in path order), or `dataset:NAME` (the test split of a registry
 * dataset, with its true labels). Files are decoded and resized as training reads image folders
 * (data/folder-read.ts); a file that is not a decodable image is skipped, counted by reason and
 * named, never guessed at.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import type { LoadedDataset } from '../pipeline/data/types.js';
import { readImageFile, type ReadOutcome } from '../pipeline/data/folder-read.js';
import type { ImageDecoder } from '../pipeline/data/image-decode.js';
import { imageBatch } from '../pipeline/model/input.js';
import type { Preprocessing } from '../pipeline/model/spec.js';

export const DATASET_PREFIX = 'dataset:';

export interface Item {
  /** The file's path, or `dataset:NAME/test/<index>`. */
  readonly id: string;
  /** The true class name, when the input knows it. */
  readonly label?: string;
}

export interface Batch {
  readonly items: readonly Item[];
  /** `items.length × size × size × 3` raw RGB values in [0, 255]. */
  readonly pixels: Float32Array;
}

export interface Skipped {
  readonly id: string;
  readonly reason: Exclude<ReadOutcome['kind'], 'image'>;
  readonly detail: string;
}

/** Image files under `paths` (files as given, folders walked), sorted, each once. */
export async function listImageFiles(paths: readonly string[], cwd: string): Promise<string[]> {
  const out = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      if (e.isDirectory()) await walk(path);
      else if (e.isFile()) out.add(path);
    }
  };
  for (const p of paths) {
    const path = resolve(cwd, p);
    const info = await stat(path).catch(() => undefined);
    if (info === undefined) throw new InputError(`input ${p} does not exist; expected an image file, a folder of images or dataset:NAME`);
    if (info.isDirectory()) await walk(path);
    else out.add(path);
  }
  return [...out];
}

export interface FileBatchOptions {
  readonly size: number;
  readonly batchSize: number;
  readonly maxPixels: number;
  readonly decoder: ImageDecoder;
  readonly onSkip: (s: Skipped) => void;
}

export async function* fileBatches(files: readonly string[], o: FileBatchOptions): AsyncGenerator<Batch> {
  const per = o.size * o.size * 3;
  let items: Item[] = [];
  let pixels = new Float32Array(o.batchSize * per);
  for (const file of files) {
    const got = await readImageFile(file, { imageSize: o.size, maxPixels: o.maxPixels, decoder: o.decoder });
    if (got.kind !== 'image') {
      o.onSkip({ id: file, reason: got.kind, detail: got.detail });
      continue;
    }
    pixels.set(got.pixels, items.length * per);
    items.push({ id: file });
    if (items.length === o.batchSize) {
      yield { items, pixels };
      items = [];
      pixels = new Float32Array(o.batchSize * per);
    }
  }
  if (items.length > 0) yield { items, pixels: pixels.subarray(0, items.length * per) };
}

/** Raw pixels: the model does its own preprocessing. */
const RAW: Preprocessing = { name: 'raw', channels: 'rgb', scale: [1, 1, 1], offset: [0, 0, 0] };

/**
 * The test split of a registry dataset, optionally some classes only, resized batch by batch exactly
 * as training resizes it (model/input.ts: gray to RGB, bilinear with half-pixel centres).
 */
export function* datasetBatches(dataset: LoadedDataset, keep: readonly number[] | undefined, size: number, batchSize: number): Generator<Batch> {
  const set = dataset.test;
  const wanted = keep === undefined ? undefined : new Set(keep);
  const indices = Array.from({ length: set.count }, (_, i) => i).filter((i) => wanted === undefined || wanted.has(set.labels[i] ?? -1));
  for (let start = 0; start < indices.length; start += batchSize) {
    const chunk = indices.slice(start, start + batchSize);
    const x = imageBatch(set, chunk, { inputSize: size, preprocessing: RAW });
    const pixels = Float32Array.from(x.dataSync());
    x.dispose();
    yield {
      items: chunk.map((index) => ({ id: `${DATASET_PREFIX}${dataset.name}/test/${index}`, label: dataset.classNames[set.labels[index] ?? -1] ?? '?' })),
      pixels,
    };
  }
}
