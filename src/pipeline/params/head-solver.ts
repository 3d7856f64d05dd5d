/**
 * `head_solver=auto`, the default (issue 17): which way stage 1 fits the head, chosen by measurement.
 * On frozen ImageNet EfficientNet-Lite0 features the closed-form ridge probe was ahead of the pooled
 * head trained with Adam at every label budget measured (bench/results/few-label.md: same split, 1-30
 * labels per class; imagenet-heads.md vs imagenet-transfer.md: 5-100 labels per class, λ by
 * leave-one-out). So `auto` is ridge where the probe applies and that evidence speaks: a graph backbone
 * whose usual head is pooled, with pretrained weights, the head left at `auto`, every backbone layer
 * frozen in stage 1, no augmentation (the solve sees unaugmented images) and no domain adaptation;
 * and, without a validation split, up to 100 labels per class: leave-one-out from 2 (the range
 * measured; its cost grows with the images), and at 1 label per class λ from its prior
 * (train/ridge-prior.ts): 53.7 ± 3.5% against the pooled Adam head's 52.8 ± 3.6%, ahead in each of the
 * 3 seeds (by 0.6-1.1 points), and the seed's Flatten head's 47.7 ± 5.6%
 * (bench/results/imagenet-ridge-prior.md). Otherwise Adam, which keeps the seed's recipes (VGG, small CNN: a
 * Flatten head) as they were. A parameter only the Adam head uses, given a value other than its
 * default (dense_units, dropout; learning_rate and max_epochs when no fine-tuning stage follows),
 * also means Adam: auto never leaves a given value without effect. The choice and its reason are
 * logged with the run (`effective_head_solver`, tag `transferkit.head_solver_reason`). Where auto's
 * probe is the only stage and at most 100 labels per class are drawn, it fits the validation images
 * too, λ by leave-one-out (../recipe.ts poolsValidation).
 */
import { TRAIN_DEFAULTS } from './defaults.js';
import type { TrainParams } from './train.js';

export type HeadSolver = 'adam' | 'ridge';

export interface HeadSolverChoice {
  readonly solver: HeadSolver;
  /** Why: the parameter as given, or the rule `auto` applied. */
  readonly reason: string;
}

export type HeadSolverParams = Pick<
  TrainParams,
  | 'head_solver' | 'head' | 'weights' | 'source_classes' | 'retrained_conv_layers' | 'retrained_blocks' | 'augment' | 'adaptation' | 'target_dataset'
  | 'validation_fraction' | 'samples_per_class' | 'dense_units' | 'dropout' | 'learning_rate' | 'max_epochs' | 'fine_tune_conv_layers' | 'fine_tune_blocks'
>;

/** The most labels per class leave-one-out was measured at (bench/results/imagenet-heads.md). */
const LOO_MEASURED_UP_TO = 100;

/** Parameters given that only the Adam head would use (values other than their defaults), as name=value. */
function adamOnlyGiven(params: HeadSolverParams): string[] {
  const d = TRAIN_DEFAULTS;
  const fineTunes = params.fine_tune_conv_layers !== 0 || params.fine_tune_blocks !== 0;
  const given: [string, number, boolean][] = [
    ['dense_units', params.dense_units, params.dense_units !== d.dense_units],
    ['dropout', params.dropout, params.dropout !== d.dropout],
    ['learning_rate', params.learning_rate, !fineTunes && params.learning_rate !== d.learning_rate],
    ['max_epochs', params.max_epochs, !fineTunes && params.max_epochs !== d.max_epochs],
  ];
  return given.filter(([, , on]) => on).map(([name, value]) => `${name}=${value}`);
}

/** The first reason `auto` does not take the ridge probe, or undefined when it does. */
function adamBecause(params: HeadSolverParams, spec: { readonly head: string; readonly name: string }): string | undefined {
  if (spec.head !== 'pooled') return `backbone ${spec.name} keeps its ${spec.head} head trained with Adam`;
  if (params.head !== 'auto') return `head=${params.head} is trained with Adam`;
  if (params.weights === 'none' && params.source_classes === undefined) return 'weights=none: the probe is for pretrained features';
  if (params.retrained_conv_layers !== 0 || params.retrained_blocks !== 0) return 'stage 1 trains backbone layers';
  if (params.augment.length > 0) return 'augment is on (the probe solves on unaugmented images)';
  if (params.adaptation !== 'none' || params.target_dataset !== undefined) return 'domain adaptation trains its own head';
  if (params.validation_fraction === 0 && (params.samples_per_class === 'all' || params.samples_per_class > LOO_MEASURED_UP_TO)) {
    return `validation_fraction=0 with samples_per_class=${params.samples_per_class}: leave-one-out was measured up to ${LOO_MEASURED_UP_TO} labels per class`;
  }
  const given = adamOnlyGiven(params);
  if (given.length > 0) return `${given.join(', ')} given, which only the Adam head uses`;
  return undefined;
}

export function chooseHeadSolver(params: HeadSolverParams, spec: { readonly head: string; readonly name: string }): HeadSolverChoice {
  if (params.head_solver !== 'auto') return { solver: params.head_solver, reason: `head_solver=${params.head_solver}` };
  const because = adamBecause(params, spec);
  if (because !== undefined) return { solver: 'adam', reason: `auto: ${because}` };
  const prior = params.validation_fraction === 0 && params.samples_per_class === 1;
  return { solver: 'ridge', reason: `auto: frozen pretrained pooled-head backbone, the ridge probe${prior ? ' (λ from its prior: 1 label per class and no validation split)' : ''}` };
}
