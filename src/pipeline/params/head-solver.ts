/**
 * `head_solver=auto`, the default (issue 17): which way stage 1 fits the head, chosen by measurement.
 * On frozen ImageNet EfficientNet-Lite0 features the closed-form ridge probe was ahead of the pooled
 * head trained with Adam at every label budget measured (bench/results/few-label.md: same split, 1-30
 * labels per class; imagenet-heads.md vs imagenet-transfer.md: 5-100 labels per class, λ by
 * leave-one-out). So `auto` is ridge where the probe applies and that evidence speaks: a graph backbone
 * whose usual head is pooled, with pretrained weights, the head left at `auto`, every backbone layer
 * frozen in stage 1, no augmentation (the solve sees unaugmented images) and no domain adaptation;
 * and, without a validation split, at least 2 labels per class for leave-one-out. Otherwise Adam,
 * which keeps the seed's recipes (VGG, small CNN: a Flatten head) as they were. The choice and its
 * reason are logged with the run (`effective_head_solver`, tag `transferkit.head_solver_reason`).
 */
import type { TrainParams } from './train.js';

export type HeadSolver = 'adam' | 'ridge';

export interface HeadSolverChoice {
  readonly solver: HeadSolver;
  /** Why: the parameter as given, or the rule `auto` applied. */
  readonly reason: string;
}

export type HeadSolverParams = Pick<
  TrainParams,
  'head_solver' | 'head' | 'weights' | 'retrained_conv_layers' | 'retrained_blocks' | 'augment' | 'adaptation' | 'target_dataset' | 'validation_fraction' | 'samples_per_class'
>;

/** The first reason `auto` does not take the ridge probe, or undefined when it does. */
function adamBecause(params: HeadSolverParams, spec: { readonly head: string; readonly name: string }): string | undefined {
  if (spec.head !== 'pooled') return `backbone ${spec.name} keeps its ${spec.head} head trained with Adam`;
  if (params.head !== 'auto') return `head=${params.head} is trained with Adam`;
  if (params.weights === 'none') return 'weights=none: the probe is for pretrained features';
  if (params.retrained_conv_layers !== 0 || params.retrained_blocks !== 0) return 'stage 1 trains backbone layers';
  if (params.augment.length > 0) return 'augment is on (the probe solves on unaugmented images)';
  if (params.adaptation !== 'none' || params.target_dataset !== undefined) return 'domain adaptation trains its own head';
  if (params.validation_fraction === 0 && typeof params.samples_per_class === 'number' && params.samples_per_class < 2) {
    return 'validation_fraction=0 with 1 label per class leaves nothing for leave-one-out';
  }
  return undefined;
}

export function chooseHeadSolver(params: HeadSolverParams, spec: { readonly head: string; readonly name: string }): HeadSolverChoice {
  if (params.head_solver !== 'auto') return { solver: params.head_solver, reason: `head_solver=${params.head_solver}` };
  const because = adamBecause(params, spec);
  return because === undefined
    ? { solver: 'ridge', reason: 'auto: frozen pretrained pooled-head backbone, the ridge probe' }
    : { solver: 'adam', reason: `auto: ${because}` };
}
