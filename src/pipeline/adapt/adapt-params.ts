/**
 * Which runs take the adaptation path, and the checks on its parameters that need no data: a
 * target domain must be named, and the normal recipe's extra phases (source model, from-scratch
 * baseline) and a fine-tuning stage are refused rather than silently ignored (an adaptation run's plan
 * is one target phase of one adaptation stage; checkpoints, resume and the activation cache are those
 * of every run).
 * Checks that need the data (classes, label budgets) are in ./adapt-data.ts.
 */
import { ParamError } from '../../errors.js';
import { BACKBONES, type BackboneSpec } from '../model/backbones.js';
import { ADAPTATION_PARTS } from '../params/adaptations.js';
import { TRAIN_DEFAULTS } from '../params/defaults.js';
import type { TrainParams } from '../params/train.js';

export type { AdaptationMethod } from '../params/adaptations.js';

/** The adaptation's training method (its loss term), without AdaBN. */
export const methodOf = (params: Pick<TrainParams, 'adaptation'>) => ADAPTATION_PARTS[params.adaptation].method;
/** True when the adaptation recomputes BatchNorm statistics on the target (adabn, adabn+…). */
export const usesAdabn = (params: Pick<TrainParams, 'adaptation'>) => ADAPTATION_PARTS[params.adaptation].adabn;

/** AdaBN needs BatchNorm layers: a backbone without them is refused, naming the value and the backbones that fit. */
export function checkAdabnBackbone(params: TrainParams, spec: BackboneSpec): void {
  if (!usesAdabn(params) || spec.bnEpsilon !== undefined) return;
  const withBn = Object.values(BACKBONES).filter((b) => b.bnEpsilon !== undefined).map((b) => b.name);
  const method = methodOf(params);
  throw new ParamError(
    'adaptation',
    `Parameter "adaptation" is "${params.adaptation}", which recomputes BatchNorm statistics on the target images, but backbone ${spec.name} has no BatchNorm layer; ` +
      `expected a backbone with BatchNorm (${withBn.join(', ')}), or adaptation=${method === 'none' ? 'none' : method} without AdaBN`,
  );
}

const DEFAULTS = TRAIN_DEFAULTS;

/** The parameters of this path that differ from their defaults: `name=value` each. */
function targetParamsGiven(params: TrainParams): string[] {
  const given: [string, unknown, boolean][] = [
    ['adaptation', params.adaptation, params.adaptation !== 'none'],
    ['target_dataset', params.target_dataset, params.target_dataset !== undefined],
    ['target_data_dir', params.target_data_dir, params.target_data_dir !== undefined],
    ['target_classes', params.target_classes, params.target_classes !== undefined],
    ['target_shift', params.target_shift, params.target_shift !== 'none'],
    ['target_labels_per_class', params.target_labels_per_class, params.target_labels_per_class !== 0],
    ['target_unlabeled_samples', params.target_unlabeled_samples, params.target_unlabeled_samples !== 'all'],
    ['pseudo_label_threshold', params.pseudo_label_threshold, params.pseudo_label_threshold !== DEFAULTS.pseudo_label_threshold],
    ['adaptation_weight', params.adaptation_weight, params.adaptation_weight !== DEFAULTS.adaptation_weight],
    ['adabn_samples', params.adabn_samples, params.adabn_samples !== DEFAULTS.adabn_samples],
    ['pseudo_label_views', params.pseudo_label_views, params.pseudo_label_views !== DEFAULTS.pseudo_label_views],
  ];
  return given.filter(([, , on]) => on).map(([name, value]) => `${name}=${String(value)}`);
}

/** True when the run has a target domain (or asks for one): its plan is then ./adapt-plan.ts's. */
export function usesAdaptation(params: TrainParams): boolean {
  return targetParamsGiven(params).length > 0;
}

/** Parameter-only checks of an adaptation run; throws ParamError naming the parameter. */
export function checkAdaptParams(params: TrainParams): void {
  if (params.target_dataset === undefined) {
    throw new ParamError(
      'target_dataset',
      `Parameter "target_dataset" must name the target domain (a dataset name such as fashion-mnist, or folder:PATH) when ${targetParamsGiven(params).join(', ')} ` +
        `is given, got "" (string); adaptation needs target images`,
    );
  }
  const refused: [string, unknown, boolean, string][] = [
    ['source_classes', params.source_classes, params.source_classes !== undefined, 'train the source model in its own run and pass its model folder as weights'],
    ['compare_scratch', params.compare_scratch, params.compare_scratch, 'run adaptation=none with weights=none for the from-scratch baseline'],
    ['fine_tune_conv_layers', params.fine_tune_conv_layers, params.fine_tune_conv_layers !== 0, 'adaptation trains one stage; set retrained_conv_layers instead'],
    ['fine_tune_blocks', params.fine_tune_blocks, params.fine_tune_blocks !== 0, 'adaptation trains one stage; set retrained_blocks instead'],
  ];
  if (methodOf(params) === 'coral' && params.batch_size < 2) {
    throw new ParamError('batch_size', `Parameter "batch_size" must be at least 2 for adaptation=${params.adaptation} (a covariance needs two examples per domain), got ${params.batch_size} (number)`);
  }
  for (const [name, value, bad, hint] of refused) {
    if (!bad) continue;
    throw new ParamError(
      name,
      `Parameter "${name}" (${JSON.stringify(String(value))}) cannot be combined with a target domain (target_dataset=${JSON.stringify(params.target_dataset)}, adaptation=${params.adaptation}): ${hint}`,
    );
  }
}
