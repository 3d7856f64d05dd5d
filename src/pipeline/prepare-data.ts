/**
 * From a dataset name to the three sets training needs: the class subset, a class-balanced labelled
 * training subset (the label budget), a validation split held out from it, and the test set.
 * The test set is only ever used for the final report.
 */
import type { Progress } from './progress.js';
import { join } from 'node:path';
import { DataError } from '../errors.js';
import { balancedSplit, loadDataset, parseClassSpec, selectClasses } from './data/index.js';
import type { ImageSet, LoadedDataset } from './data/types.js';
import type { TrainParams } from './params/train.js';
import type { Logger } from '../log.js';

export interface PreparedData {
  readonly dataset: LoadedDataset;
  /** Original class indices, in the order of the model's outputs. */
  readonly classIds: readonly number[];
  readonly classNames: readonly string[];
  readonly train: ImageSet;
  readonly validation: ImageSet;
  readonly test: ImageSet;
}

export interface DataDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly logger: Logger;
  readonly cacheDir: string;
  /** The model's input size: `folder:PATH` images are resized to it when read (required for them). */
  readonly imageSize?: number;
  readonly progress?: Progress;
}

export type DataParams = Pick<TrainParams, 'dataset' | 'data_dir' | 'classes' | 'samples_per_class' | 'validation_fraction' | 'seed'>;

/** `loaded`: a dataset already in memory (another class subset of the same data), not read again. */
export async function prepareData(params: DataParams, deps: DataDeps, loaded?: LoadedDataset): Promise<PreparedData> {
  const dataset = loaded ?? await loadDataset({
    name: params.dataset,
    ...(params.data_dir === undefined ? {} : { dataDir: params.data_dir }),
    cacheDir: join(deps.cacheDir, 'datasets'),
    fetch: deps.fetch,
    logger: deps.logger,
    env: deps.env,
    ...(deps.imageSize === undefined ? {} : { imageSize: deps.imageSize }),
    ...(deps.progress === undefined ? {} : { progress: deps.progress }),
  });
  const classIds = parseClassSpec(params.classes ?? '', dataset.classNames);
  const split = balancedSplit(selectClasses(dataset.train, classIds), {
    perClass: params.samples_per_class,
    validationFraction: params.validation_fraction,
    seed: params.seed,
  });
  const test = selectClasses(dataset.test, classIds);
  if (test.count === 0) throw new DataError(`The ${dataset.name} test set has no images of the selected classes ${classIds.join(', ')}`);
  deps.logger.info(
    { dataset: dataset.name, source: dataset.source, classes: classIds, train: split.train.count, validation: split.validation.count, test: test.count },
    'data ready',
  );
  return {
    dataset,
    classIds,
    classNames: classIds.map((c: number) => dataset.classNames[c] ?? String(c)),
    train: split.train,
    validation: split.validation,
    test,
  };
}
