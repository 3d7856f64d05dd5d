/**
 * Where the source domain's images come from. A transferkit model folder records the dataset and
 * classes it was trained on (transferkit.json), so those are used. Other pretrained weights take
 * `source_dataset` (+ `source_classes`), the dataset they learned from or a loadable stand-in.
 * Without it (ImageNet, what Keras's weights learned from, is not freely downloadable) there is no
 * source: the similarity is not measured, and the advice says so.
 * Pure: every check here runs before any data is read.
 */
import { ParamError } from '../../errors.js';
import { getDatasetSpec, parseClassSpec } from '../data/index.js';
import type { BackboneSpec } from '../model/backbones.js';
import type { WeightsSource } from '../model/weights.js';
import type { RecommendParams } from './params.js';

export interface SourcePlan {
  readonly dataset: string;
  readonly dataDir?: string;
  /** A class spec for parseClassSpec (`"0-4"`, `"cat,dog"`; undefined = all classes). */
  readonly classes?: string;
  /** Why this source: for messages and the report. */
  readonly from: 'model' | 'params';
}

/** A source class subset or folder given without the source dataset it describes (a mistake, not ignored). */
function straySourceParam(params: RecommendParams): Error | undefined {
  if (params.source_dataset !== undefined) return undefined;
  const stray = (['source_classes', 'source_data_dir'] as const).find((k) => params[k] !== undefined);
  return stray === undefined
    ? undefined
    : new ParamError(stray, `Parameter "${stray}" needs source_dataset with weights=${params.weights}: it describes a source dataset that is not named; got "${params[stray] ?? ''}" (string) and source_dataset empty`);
}

/** Checks that can run before the weights are resolved (so no ImageNet download is started for nothing). */
export function checkSourceParams(params: RecommendParams, spec: Pick<BackboneSpec, 'weights'>): void {
  if (params.weights === 'none') {
    throw new ParamError(
      'weights',
      'Parameter "weights" must name pretrained weights for recommend (a transferkit model folder, "imagenet" or a Keras .h5 file), got "none" (string): ' +
        'with random weights there is nothing to transfer, and weights=none already means training from scratch',
    );
  }
  // named weights (imagenet) never record a source; a path may be a transferkit model folder, which does
  const stray = spec.weights[params.weights] === undefined ? undefined : straySourceParam(params);
  if (stray !== undefined) throw stray;
}

/** Whether a class spec (`"0-4"`, `"0,1,2,3,4"`, names) selects exactly `ids` of the dataset. */
function sameClasses(spec: string, dataset: string, ids: readonly number[]): boolean {
  try {
    const chosen = parseClassSpec(spec, getDatasetSpec(dataset).classNames);
    return chosen.length === ids.length && chosen.every((c) => ids.includes(c));
  } catch (error) {
    if (error instanceof ParamError) return false;
    throw error;
  }
}

export function planSource(params: RecommendParams, weights: WeightsSource): SourcePlan | undefined {
  // the source's files: source_data_dir, else the target's data_dir when both are the same dataset
  const dirFor = (dataset: string) => {
    const dir = params.source_data_dir ?? (dataset === params.dataset ? params.data_dir : undefined);
    return dir === undefined ? {} : { dataDir: dir };
  };
  if (weights.kind === 'transferkit') {
    const { meta, dir } = weights;
    const recorded = `the model in ${dir} was trained on ${meta.dataset} classes ${meta.class_ids.join(',')} (its transferkit.json)`;
    if (params.source_dataset !== undefined && params.source_dataset !== meta.dataset) {
      throw new ParamError('source_dataset', `Parameter "source_dataset" must be empty or "${meta.dataset}": ${recorded}; got "${params.source_dataset}" (string)`);
    }
    if (params.source_classes !== undefined && !sameClasses(params.source_classes, meta.dataset, meta.class_ids)) {
      throw new ParamError('source_classes', `Parameter "source_classes" must be empty or "${meta.class_ids.join(',')}": ${recorded}; got "${params.source_classes}" (string)`);
    }
    return { dataset: meta.dataset, classes: meta.class_ids.join(','), from: 'model', ...dirFor(meta.dataset) };
  }
  // nothing says which images these weights learned from: the similarity is not measured (./candidates.ts)
  if (params.source_dataset === undefined) {
    const stray = straySourceParam(params);
    if (stray !== undefined) throw stray;
    return undefined;
  }
  return {
    dataset: params.source_dataset,
    from: 'params',
    ...dirFor(params.source_dataset),
    ...(params.source_classes === undefined ? {} : { classes: params.source_classes }),
  };
}
