/**
 * Where the source domain's images come from. A transferkit model folder records the dataset and
 * classes it was trained on (transferkit.json), so those are used. Any other pretrained weights need
 * `source_dataset` (+ `source_classes`): ImageNet, what Keras's weights were trained on, is not a
 * dataset transferkit can load (it is not freely downloadable), so a loadable stand-in must be named.
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

/** Checks that can run before the weights are resolved (so no ImageNet download is started for nothing). */
export function checkSourceParams(params: RecommendParams, spec: BackboneSpec): void {
  if (params.weights === 'none') {
    throw new ParamError(
      'weights',
      'Parameter "weights" must name pretrained weights for recommend (a transferkit model folder, "imagenet" or a Keras .h5 file), got "none" (string): ' +
        'with random weights there is nothing to transfer, and weights=none already means training from scratch',
    );
  }
  if (params.source_dataset === undefined && spec.weights[params.weights] !== undefined) {
    throw new ParamError(
      'source_dataset',
      `Parameter "source_dataset" must be given with weights=${params.weights}: the similarity is measured between images of the source and target domains, ` +
        `and ${params.weights === 'imagenet' ? 'ImageNet' : `the data behind "${params.weights}"`} cannot be downloaded by transferkit (it is not freely available). ` +
        'Name the loadable dataset closest to it (e.g. source_dataset=cifar10 for ImageNet photos, optionally with source_classes), ' +
        'or pass weights=<a transferkit model folder>, whose transferkit.json records its source; got source_dataset empty',
    );
  }
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

export function planSource(params: RecommendParams, weights: WeightsSource): SourcePlan {
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
  if (params.source_dataset === undefined) {
    throw new ParamError(
      'source_dataset',
      `Parameter "source_dataset" must be given with weights=${params.weights} (${weights.kind === 'keras-h5' ? 'a Keras .h5 file' : 'named weights'}): ` +
        'nothing in it says which images it was trained on. Name that dataset (cifar10, mnist, fashion-mnist, usps) and optionally source_classes; got source_dataset empty',
    );
  }
  return {
    dataset: params.source_dataset,
    from: 'params',
    ...dirFor(params.source_dataset),
    ...(params.source_classes === undefined ? {} : { classes: params.source_classes }),
  };
}
