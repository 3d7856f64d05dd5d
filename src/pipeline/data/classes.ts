/**
 * Class subsets: `"0-4"`, `"5,6,7"`, `"7,2"`, `"cat,dog"`, `"T-shirt/top, Ankle boot"`, mixed forms;
 * empty = all classes. Tokens are separated by commas; a token is a class name (case-insensitive,
 * checked first, so names containing `-` work), an index, or an inclusive index range `A-B`.
 */
import { ParamError } from '../../errors.js';
import type { ImageSet } from './types.js';

/** Ordered original class indices selected by `spec` (the order given; ranges ascend). */
export function parseClassSpec(spec: string | undefined, classNames: readonly string[]): number[] {
  const n = classNames.length;
  const all = Array.from({ length: n }, (_, i) => i);
  if (spec === undefined || spec.trim() === '') return all;
  const valid = `expected class indices 0-${n - 1}, ranges like 0-4, or names (${classNames.join(', ')})`;
  const byName = new Map(classNames.map((name, i) => [name.toLowerCase(), i]));
  const chosen: number[] = [];
  const add = (index: number, token: string): void => {
    if (chosen.includes(index)) {
      throw new ParamError('classes', `classes ${JSON.stringify(spec)} selects class ${index} (${classNames[index]}) twice (at ${JSON.stringify(token)})`);
    }
    chosen.push(index);
  };
  const checkIndex = (text: string, token: string): number => {
    const index = Number.parseInt(text, 10);
    if (index >= n) {
      throw new ParamError('classes', `classes ${JSON.stringify(spec)}: ${JSON.stringify(token)} is out of range; ${valid}`);
    }
    return index;
  };
  for (const rawToken of spec.split(',')) {
    const token = rawToken.trim();
    if (token === '') throw new ParamError('classes', `classes ${JSON.stringify(spec)} has an empty entry; ${valid}`);
    const named = byName.get(token.toLowerCase());
    if (named !== undefined) {
      add(named, token);
      continue;
    }
    const single = /^\d+$/.exec(token);
    const range = /^(\d+)\s*-\s*(\d+)$/.exec(token);
    if (single !== null) {
      add(checkIndex(token, token), token);
    } else if (range !== null) {
      const from = checkIndex(range[1] ?? '', token);
      const to = checkIndex(range[2] ?? '', token);
      if (from > to) throw new ParamError('classes', `classes ${JSON.stringify(spec)}: range ${JSON.stringify(token)} is reversed; write ${to}-${from}`);
      for (let i = from; i <= to; i++) add(i, token);
    } else {
      throw new ParamError('classes', `classes ${JSON.stringify(spec)}: ${JSON.stringify(token)} is not a class of this dataset; ${valid}`);
    }
  }
  if (chosen.length < 2) {
    throw new ParamError('classes', `classes ${JSON.stringify(spec)} selects ${chosen.length} class; a classifier needs at least 2`);
  }
  return chosen;
}

/**
 * Keeps only images whose label is in `classIds` (dataset order preserved) and remaps labels to
 * positions in `classIds`: `selectClasses(set, [7, 2])` turns label 7 into 0 and label 2 into 1.
 */
export function selectClasses(set: ImageSet, classIds: readonly number[]): ImageSet {
  const maxLabel = set.labels.reduce((m, l) => Math.max(m, l), -1);
  const remap = new Int32Array(Math.max(maxLabel + 1, ...classIds.map((c) => c + 1), 0)).fill(-1);
  classIds.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0) throw new RangeError(`class id ${c} is not a non-negative integer`);
    if (remap[c] !== -1) throw new RangeError(`class id ${c} is listed twice`);
    remap[c] = i;
  });
  let count = 0;
  for (const label of set.labels) if ((remap[label] ?? -1) >= 0) count++;
  const size = set.height * set.width * set.channels;
  const images = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < set.count; i++) {
    const mapped = remap[set.labels[i] ?? -1] ?? -1;
    if (mapped < 0) continue;
    images.set(set.images.subarray(i * size, (i + 1) * size), k * size);
    labels[k++] = mapped;
  }
  return { images, labels, count, height: set.height, width: set.width, channels: set.channels };
}
