/**
 * How a target domain's training images are divided, as pure functions of ImageSets and seeds:
 * - `splitHalves`: when source and target are the same dataset files, two disjoint halves of the
 *   training split (one per domain), so no image is seen both as a labelled source image and as a
 *   (shifted) unlabelled target image: a paired copy would make alignment unrealistically easy.
 * - `labelBudgetSplit`: the target's labelled images (a per-class budget, part held out for
 *   validation) and the rest, which become the unlabelled pool.
 * - `drawPool`: a seeded uniform draw of the unlabelled pool, blind to labels.
 * - `matchClasses`: whether two class lists are the same classes (by name), and how they map.
 */
import { ParamError } from '../../errors.js';
import { deriveSeed, mulberry32, permutation, shuffleInPlace, subsetImageSet } from '../data/sample.js';
import type { ImageSet } from '../data/types.js';

const ascending = (a: number, b: number): number => a - b;

/** Two disjoint halves of `set` (sizes ⌈n/2⌉ and ⌊n/2⌋), each in dataset order. */
export function splitHalves(set: ImageSet, seed: number): { readonly first: ImageSet; readonly second: ImageSet } {
  const order = Array.from(permutation(set.count, mulberry32(seed)));
  const cut = Math.ceil(set.count / 2);
  return { first: subsetImageSet(set, order.slice(0, cut).sort(ascending)), second: subsetImageSet(set, order.slice(cut).sort(ascending)) };
}

/** Indices of each class 0..classes-1 (labels are positions after class selection). */
export function indicesByClass(set: ImageSet, classes: number): number[][] {
  const byClass = Array.from({ length: classes }, (): number[] => []);
  set.labels.forEach((label, i) => byClass[label]?.push(i));
  return byClass;
}

export interface BudgetSplit {
  readonly train: ImageSet;
  readonly validation: ImageSet;
  /** Everything not labelled, in dataset order: the unlabelled pool to draw from. */
  readonly rest: ImageSet;
}

export interface BudgetOptions {
  readonly perClass: number;
  readonly validationFraction: number;
  readonly seed: number;
  readonly classNames: readonly string[];
  /** For messages: where the images come from (e.g. "the target's half of fashion-mnist's training split"). */
  readonly where: string;
}

/**
 * Per class: shuffle its indices (stream deriveSeed(seed, class)), take `perClass`, hold out
 * max(1, round(perClass × validationFraction)) of them for validation (none when the fraction is 0).
 * `perClass` 0 labels nothing. Throws ParamError naming target_labels_per_class when a class has
 * fewer images than the budget or the held-out part would leave none for training.
 */
export function labelBudgetSplit(set: ImageSet, o: BudgetOptions): BudgetSplit {
  const byClass = indicesByClass(set, o.classNames.length);
  const train: number[] = [];
  const validation: number[] = [];
  const rest: number[] = [];
  const held = o.perClass > 0 && o.validationFraction > 0 ? Math.max(1, Math.round(o.perClass * o.validationFraction)) : 0;
  if (o.perClass > 0 && held >= o.perClass) {
    throw new ParamError(
      'target_labels_per_class',
      `Parameter "target_labels_per_class" must leave training labels after validation_fraction=${o.validationFraction} holds out ${held} per class, got ${o.perClass} (number); give at least ${held + 1} or lower validation_fraction`,
    );
  }
  const fewest = byClass.reduce((min, list, c) => (list.length < (byClass[min]?.length ?? Infinity) ? c : min), 0);
  const available = byClass[fewest]?.length ?? 0;
  if (o.perClass > available) {
    throw new ParamError(
      'target_labels_per_class',
      `Parameter "target_labels_per_class" must be at most ${available}, got ${o.perClass} (number): target class ${fewest} (${o.classNames[fewest] ?? '?'}) has ${available} images in ${o.where}`,
    );
  }
  byClass.forEach((indices, c) => {
    const drawn = shuffleInPlace(indices.slice(), mulberry32(deriveSeed(o.seed, c)));
    drawn.forEach((index, k) => (k < held ? validation : k < o.perClass ? train : rest).push(index));
  });
  const pick = (list: number[]): ImageSet => subsetImageSet(set, list.sort(ascending));
  return { train: pick(train), validation: pick(validation), rest: pick(rest) };
}

/** `count` images of `set` drawn uniformly without replacement (labels unused), in dataset order; `all` keeps every one. */
export function drawPool(set: ImageSet, count: number | 'all', seed: number, where: string): ImageSet {
  if (count === 'all') return set;
  if (count > set.count) {
    throw new ParamError(
      'target_unlabeled_samples',
      `Parameter "target_unlabeled_samples" must be at most ${set.count} (the unlabelled target images in ${where}) or "all", got ${count} (number)`,
    );
  }
  return subsetImageSet(set, Array.from(permutation(set.count, mulberry32(seed)).subarray(0, count)).sort(ascending));
}

/**
 * For each source class (by position), the position of the target class of the same name
 * (case-insensitive); undefined when the two lists are not the same set of classes.
 */
export function matchClasses(source: readonly string[], target: readonly string[]): number[] | undefined {
  if (source.length !== target.length) return undefined;
  const byName = new Map(target.map((name, i) => [name.toLowerCase(), i]));
  const mapping = source.map((name) => byName.get(name.toLowerCase()));
  if (mapping.some((m) => m === undefined) || new Set(mapping).size !== source.length) return undefined;
  return mapping.filter((m): m is number => m !== undefined);
}
