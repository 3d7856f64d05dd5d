/**
 * The data of an adaptation run, checked before training: the labelled source domain
 * (`dataset`/`classes`: train, validation, test), and the target domain (`target_*`): its labelled
 * images (a per-class budget, part held out for validation), its unlabelled pool and its test set.
 *
 * Construction, all seeded and deterministic:
 * - Same dataset files for both domains: the training split is first cut into two disjoint halves
 *   (./target-split.ts `splitHalves`, fixed seed DOMAIN_HALVES_SEED, not the run's seed, so every
 *   run sees the same domains): the source draws from the first, the target from the second.
 * - `target_shift` (./shift.ts) is applied to the target's training images (after class selection)
 *   with seed deriveSeed(TARGET_SHIFT_SEED, 0) and to its test images with deriveSeed(…, 1): fixed,
 *   so the target domain does not change with `seed`; image i of a set draws from its own stream.
 * - The target's labelled images: `target_labels_per_class` per class (stream deriveSeed(seed, …));
 *   the unlabelled pool is every other target training image, or `target_unlabeled_samples` of them
 *   drawn uniformly (labels unused; kept only to report pseudo-label accuracy).
 * - Shared classes (same names, any order): the model's outputs are the source's classes and the
 *   target's labels are mapped to them. Different classes (e.g. 0-4 → 5-9): the outputs are the
 *   target's; the source images cannot be classified by that head and are not used (the source
 *   knowledge comes through `weights`, e.g. a source model folder); only `none` and `pseudo_label`
 *   with target labels are possible then.
 */
import { join } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import { loadDataset, parseClassSpec, selectClasses } from '../data/index.js';
import { balancedSplit, deriveSeed } from '../data/sample.js';
import type { ImageSet, LoadedDataset } from '../data/types.js';
import type { TrainParams } from '../params/train.js';
import type { DataDeps } from '../prepare-data.js';
import { methodOf } from './adapt-params.js';
import { applyShift, type ShiftSpec } from './shift.js';
import { drawPool, labelBudgetSplit, matchClasses, splitHalves } from './target-split.js';

export const DOMAIN_HALVES_SEED = 0x5eed;
export const TARGET_SHIFT_SEED = 0x5a1f;

export interface AdaptData {
  readonly source: LoadedDataset;
  readonly target: LoadedDataset;
  /** Source and target have the same classes: the source's labels train the model too. */
  readonly shared: boolean;
  /** True when both domains come from one dataset's files, split in halves. */
  readonly halves: boolean;
  /** Target class indices (of the target dataset) in the model's output order, and their names. */
  readonly classIds: readonly number[];
  readonly classNames: readonly string[];
  /** Shared classes only: the labelled source domain, labels in output order. */
  readonly sourceSets: { readonly train: ImageSet; readonly validation: ImageSet; readonly test: ImageSet } | undefined;
  readonly targetTrain: ImageSet;
  readonly targetValidation: ImageSet;
  /** Unlabelled target images; their labels are for reports only (pseudo-label accuracy). */
  readonly targetPool: ImageSet;
  readonly targetTest: ImageSet;
}

export type AdaptDataParams = Pick<
  TrainParams,
  | 'dataset' | 'data_dir' | 'classes' | 'samples_per_class' | 'validation_fraction' | 'seed' | 'adaptation' | 'target_dataset'
  | 'target_data_dir' | 'target_classes' | 'target_shift' | 'target_labels_per_class' | 'target_unlabeled_samples'
>;

/** The shift of one target split, or undefined for `none`. */
export function shiftSpec(kind: TrainParams['target_shift'], split: 0 | 1): ShiftSpec | undefined {
  const seed = deriveSeed(TARGET_SHIFT_SEED, split);
  switch (kind) {
    case 'none':
      return undefined;
    case 'invert':
      return { kind };
    case 'blur':
      return { kind };
    case 'mnistm':
    case 'noise':
      return { kind, seed };
  }
}

/** Re-labels errors about the source's parameters as errors about the target's. */
function asTarget(error: unknown, names: Readonly<Record<string, string>>, where: string): unknown {
  if (error instanceof ParamError) {
    const param = names[error.param] ?? error.param;
    return new ParamError(param, `Parameter "${param}" (target domain): ${error.message}`, { cause: error });
  }
  if (error instanceof DataError) return new DataError(`Target domain (${where}): ${error.message}`, { cause: error });
  return error;
}

export async function prepareAdaptData(params: AdaptDataParams, deps: DataDeps): Promise<AdaptData> {
  const targetName = params.target_dataset;
  if (targetName === undefined) throw new ParamError('target_dataset', 'Parameter "target_dataset" must name the target domain, got "" (string)');
  const load = (name: string, dataDir: string | undefined) => loadDataset({
    name,
    ...(dataDir === undefined ? {} : { dataDir }),
    cacheDir: join(deps.cacheDir, 'datasets'),
    fetch: deps.fetch,
    logger: deps.logger,
    env: deps.env,
    ...(deps.imageSize === undefined ? {} : { imageSize: deps.imageSize }),
  });
  const source = await load(params.dataset, params.data_dir);
  const halves = targetName === params.dataset && params.target_data_dir === params.data_dir;
  const target = halves
    ? source
    : await load(targetName, params.target_data_dir).catch((e: unknown) => {
        const dir = params.target_data_dir === undefined ? '' : `, target_data_dir=${params.target_data_dir}`;
        throw asTarget(e, { dataset: 'target_dataset', data_dir: 'target_data_dir' }, `target_dataset=${targetName}${dir}`);
      });
  const split = halves ? splitHalves(source.train, DOMAIN_HALVES_SEED) : { first: source.train, second: target.train };

  const sourceIds = parseClassSpec(params.classes ?? '', source.classNames);
  let targetIds: number[];
  try {
    targetIds = parseClassSpec(params.target_classes ?? params.classes ?? '', target.classNames);
  } catch (e) {
    throw asTarget(e, { classes: 'target_classes' }, `target_dataset=${targetName}`);
  }
  const name = (d: LoadedDataset, ids: readonly number[]) => ids.map((c) => d.classNames[c] ?? String(c));
  const mapping = matchClasses(name(source, sourceIds), name(target, targetIds));
  const shared = mapping !== undefined;
  if (!shared) checkDifferentClasses(params, name(source, sourceIds), name(target, targetIds));
  const classIds = mapping === undefined ? targetIds : mapping.map((m) => targetIds[m] ?? -1);
  const classNames = name(target, classIds);

  const sourceSets = shared ? sourceDomain(params, source, split.first, sourceIds) : undefined;
  const shift = (set: ImageSet, s: 0 | 1): ImageSet => {
    const spec = shiftSpec(params.target_shift, s);
    return spec === undefined ? set : applyShift(set, spec);
  };
  const targetAll = shift(selectClasses(split.second, classIds), 0);
  const where = halves ? `the target's half of ${target.name}'s training split` : `${target.name}'s training split`;
  const budget = labelBudgetSplit(targetAll, {
    perClass: params.target_labels_per_class,
    validationFraction: params.validation_fraction,
    seed: deriveSeed(params.seed, 0x7a6e),
    classNames,
    where,
  });
  if (params.adaptation !== 'none' && budget.rest.count === 0) {
    throw new ParamError(
      'target_labels_per_class',
      `Parameter "target_labels_per_class" (${params.target_labels_per_class}) labels every target image in ${where}, leaving no unlabelled images for adaptation=${params.adaptation}`,
    );
  }
  const targetPool = drawPool(budget.rest, params.target_unlabeled_samples, deriveSeed(params.seed, 0x706f), where);
  const targetTest = shift(selectClasses(target.test, classIds), 1);
  if (targetTest.count === 0) throw new DataError(`The ${target.name} test set has no images of the target classes ${classIds.join(', ')}`);
  deps.logger.info(
    {
      source: source.name, target: target.name, shared_classes: shared, halves, shift: params.target_shift, classes: classNames,
      source_train: sourceSets?.train.count ?? 0, source_validation: sourceSets?.validation.count ?? 0,
      target_train: budget.train.count, target_validation: budget.validation.count, target_unlabeled: targetPool.count, target_test: targetTest.count,
    },
    'adaptation data ready',
  );
  return { source, target, shared, halves, classIds, classNames, sourceSets, targetTrain: budget.train, targetValidation: budget.validation, targetPool, targetTest };
}

function checkDifferentClasses(params: AdaptDataParams, sourceNames: readonly string[], targetNames: readonly string[]): void {
  const why = `the target classes (${targetNames.join(', ')}) are not the source's (${sourceNames.join(', ')})`;
  if (methodOf(params) === 'dann' || methodOf(params) === 'coral') {
    throw new ParamError(
      'target_classes',
      `Parameter "target_classes" must select the same classes as "classes" for adaptation=${params.adaptation} (it aligns source and target features of the same classes), but ${why}`,
    );
  }
  if (params.target_labels_per_class === 0) {
    throw new ParamError(
      'target_classes',
      `Parameter "target_classes" must select the same classes as "classes" when target_labels_per_class is 0 (nothing would teach the model the target classes), but ${why}; ` +
        'give target labels (target_labels_per_class > 0) or the same classes',
    );
  }
}

function sourceDomain(params: AdaptDataParams, source: LoadedDataset, pool: ImageSet, ids: readonly number[]) {
  const split = balancedSplit(selectClasses(pool, ids), {
    perClass: params.samples_per_class,
    validationFraction: params.validation_fraction,
    seed: params.seed,
    classNames: ids.map((c) => source.classNames[c] ?? String(c)),
  });
  const test = selectClasses(source.test, ids);
  if (test.count === 0) throw new DataError(`The ${source.name} test set has no images of the selected classes ${ids.join(', ')}`);
  return { train: split.train, validation: split.validation, test };
}
