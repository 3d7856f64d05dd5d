/**
 * The two domains as recommend sees them: the target's images of the selected classes with the
 * label budget actually available (per class: min(samples_per_class, images of the class); the
 * run's figure is the smallest), and the source's images of its classes. Similarity uses images
 * only, never labels (as the proxy A-distance is defined: on unlabelled samples), so both samples
 * are drawn uniformly from each domain's training images, whatever the label budget.
 */
import { join } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { deriveSeed, loadDataset, mulberry32, parseClassSpec, permutation, selectClasses } from '../data/index.js';
import type { ImageSet, LoadedDataset } from '../data/types.js';
import type { RecommendParams } from './params.js';
import type { SourcePlan } from './source.js';

export interface Domain {
  readonly dataset: LoadedDataset;
  readonly classIds: readonly number[];
  readonly classNames: readonly string[];
  /** Training images of the selected classes (labels are positions in classIds). */
  readonly images: ImageSet;
}

export interface Domains {
  readonly target: Domain;
  /** Absent without a source plan (weights that do not say what they learned from, no source_dataset). */
  readonly source?: Domain;
  /** min over the target's classes of min(samples_per_class, images of the class). */
  readonly labelsPerClass: number;
  readonly labelsByClass: Readonly<Record<string, number>>;
}

export interface DomainDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly logger: Logger;
  readonly cacheDir: string;
  /** The model's input size: `folder:PATH` images are resized to it when read (they need it). */
  readonly imageSize: number;
}

/**
 * Loading the source's dataset and classes reuses train's functions, whose errors name train's
 * parameters (dataset, data_dir, classes): here they are about source_dataset/source_data_dir/source_classes.
 */
async function asSource<T>(plan: SourcePlan, f: () => T | Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    const what = `the source domain (${plan.dataset}${plan.dataDir === undefined ? '' : ` from source_data_dir ${plan.dataDir}`}${plan.classes === undefined ? '' : `, classes ${plan.classes}`})`;
    if (error instanceof ParamError) {
      const param = error.param === 'classes' ? 'source_classes' : error.param === 'data_dir' ? 'source_data_dir' : 'source_dataset';
      throw new ParamError(param, `Parameter "${param}": ${error.message}`, { cause: error });
    }
    if (error instanceof DataError) throw new DataError(`Loading ${what} failed: ${error.message}`, { cause: error });
    throw error;
  }
}

function domain(dataset: LoadedDataset, classIds: readonly number[]): Domain {
  const images = selectClasses(dataset.train, classIds);
  if (images.count === 0) throw new DataError(`The ${dataset.name} training set has no images of classes ${classIds.join(', ')}`);
  return { dataset, classIds, classNames: classIds.map((c) => dataset.classNames[c] ?? String(c)), images };
}

export async function loadDomains(params: RecommendParams, source: SourcePlan | undefined, deps: DomainDeps): Promise<Domains> {
  const load = (name: string, dataDir: string | undefined) =>
    loadDataset({ name, ...(dataDir === undefined ? {} : { dataDir }), cacheDir: join(deps.cacheDir, 'datasets'), fetch: deps.fetch, logger: deps.logger, env: deps.env, imageSize: deps.imageSize });
  const targetData = await load(params.dataset, params.data_dir);
  const target = domain(targetData, parseClassSpec(params.classes ?? '', targetData.classNames));
  const counts = new Array<number>(target.classIds.length).fill(0);
  for (const label of target.images.labels) counts[label] = (counts[label] ?? 0) + 1;
  const budget = (count: number) => (params.samples_per_class === 'all' ? count : Math.min(params.samples_per_class, count));
  const labelsByClass = Object.fromEntries(target.classNames.map((name, i) => [name, budget(counts[i] ?? 0)]));
  const labels = { labelsPerClass: Math.min(...Object.values(labelsByClass)), labelsByClass };
  if (source === undefined) return { target, ...labels };
  const sameFiles = source.dataset === params.dataset && source.dataDir === params.data_dir;
  const sourceData = sameFiles ? targetData : await asSource(source, () => load(source.dataset, source.dataDir));
  const sourceIds = await asSource(source, () => parseClassSpec(source.classes ?? '', sourceData.classNames));
  return { target, source: domain(sourceData, sourceIds), ...labels };
}

/** `n` distinct image indices of `set`, uniformly at random, deterministic for (seed, stream). */
export function drawSample(set: ImageSet, n: number, seed: number, stream: number): Int32Array {
  return permutation(set.count, mulberry32(deriveSeed(seed, stream))).slice(0, Math.min(n, set.count));
}
