/**
 * From parameters to the run's recipe, checked before any work starts: the target model's stages
 * (stage 1: train what `retrained_conv_layers`/`retrained_blocks` leave trainable; stage 2 when
 * `fine_tune_conv_layers`/`fine_tune_blocks` ask for more, at `fine_tune_lr_factor` × the learning
 * rate), whether a source model is trained first (`source_classes`), and the from-scratch baseline.
 */
import { ParamError } from '../errors.js';
import { parseClassSpec } from './data/classes.js';
import type { BackboneSpec } from './model/backbones.js';
import { planFreeze, type FreezePlan } from './model/freeze.js';
import { chooseHeadSolver } from './params/head-solver.js';
import type { TrainParams } from './params/train.js';
import type { StageSpec } from './train/stages.js';

export interface Recipe {
  readonly stages: readonly StageSpec[];
  /** Stage 0: the source model trains every layer on these classes first, then becomes the base. */
  readonly source?: { readonly classes: string; readonly stages: readonly StageSpec[] };
  /** The same architecture from random weights, every layer trained, on the same target labels. */
  readonly scratch?: { readonly stages: readonly StageSpec[] };
}

const everything = (spec: BackboneSpec): FreezePlan => planFreeze(spec, 'all');

/**
 * The source model must not see the target's classes: a source trained on them would make the
 * transfer look better than it is against the from-scratch baseline. `classNames`: the dataset's.
 */
export function checkSourceClasses(params: Pick<TrainParams, 'classes' | 'source_classes'>, classNames: readonly string[]): void {
  if (params.source_classes === undefined) return;
  const target = new Set(parseClassSpec(params.classes ?? '', classNames));
  const shared = parseClassSpec(params.source_classes, classNames).filter((c) => target.has(c));
  if (shared.length === 0) return;
  const named = shared.map((c) => `${c} (${classNames[c] ?? '?'})`).join(', ');
  throw new ParamError(
    'source_classes',
    `Parameter "source_classes" (${JSON.stringify(params.source_classes)}) and "classes" (${JSON.stringify(params.classes ?? '')}${params.classes === undefined ? ', all classes' : ''}) share class${shared.length === 1 ? '' : 'es'} ${named}; ` +
      'a source model trained on target classes would inflate the transfer against the from-scratch baseline. Choose source_classes disjoint from classes (e.g. classes=5-9 with source_classes=0-4)',
  );
}

/**
 * Whether auto's probe fits every label: chosen by `head_solver=auto`, nothing after it needs the
 * validation split (no fine-tuning stage), and at most 100 labels per class, where leave-one-out was
 * measured: on frozen ImageNet Lite0 it beat λ chosen on a held-out fifth at every budget from 5 to 100
 * labels per class (bench/results/imagenet-heads.md, 72.3 ± 0.7% against 69.9 ± 0.8% at 5;
 * imagenet-size-threshold.md), because the held-out fifth trains too.
 */
export function poolsValidation(params: Pick<TrainParams, 'head_solver' | 'validation_fraction' | 'samples_per_class' | 'fine_tune_conv_layers' | 'fine_tune_blocks'>, solver: 'adam' | 'ridge'): boolean {
  const fineTunes = params.fine_tune_conv_layers !== 0 || params.fine_tune_blocks !== 0;
  return solver === 'ridge' && params.head_solver === 'auto' && !fineTunes && params.validation_fraction > 0 && params.samples_per_class !== 'all' && params.samples_per_class <= 100;
}

export function planRecipe(params: TrainParams, spec: BackboneSpec): Recipe {
  const first = planFreeze(spec, { convLayers: params.retrained_conv_layers, blocks: params.retrained_blocks });
  const { solver } = chooseHeadSolver(params, spec);
  const stages: StageSpec[] = [{ plan: first, learningRate: params.learning_rate, maxEpochs: solver === 'ridge' ? 1 : params.max_epochs, solver, ...(poolsValidation(params, solver) ? { poolValidation: true } : {}) }];
  if (params.fine_tune_conv_layers !== 0 || params.fine_tune_blocks !== 0) {
    const second = planFreeze(spec, {
      convLayers: params.fine_tune_conv_layers,
      blocks: params.fine_tune_blocks,
      names: { convLayers: 'fine_tune_conv_layers', blocks: 'fine_tune_blocks' },
    });
    if (second.trainable.length <= first.trainable.length) {
      const name = params.fine_tune_blocks !== 0 ? 'fine_tune_blocks' : 'fine_tune_conv_layers';
      const given = params.fine_tune_blocks !== 0 ? params.fine_tune_blocks : params.fine_tune_conv_layers;
      throw new ParamError(
        name,
        `Parameter "${name}" must unfreeze more conv layers than stage 1 trains (${first.trainable.length}), got ${String(given)}, ` +
          `which trains ${second.trainable.length}; fine-tuning continues from stage 1 with more layers trainable`,
      );
    }
    stages.push({
      plan: second,
      learningRate: params.learning_rate * params.fine_tune_lr_factor,
      maxEpochs: params.fine_tune_epochs === 0 ? params.max_epochs : params.fine_tune_epochs,
    });
  }
  const all: StageSpec = { plan: everything(spec), learningRate: params.learning_rate, maxEpochs: params.max_epochs };
  return {
    stages,
    ...(params.source_classes === undefined
      ? {}
      : { source: { classes: params.source_classes, stages: [{ ...all, maxEpochs: params.source_epochs }] } }),
    ...(params.compare_scratch ? { scratch: { stages: [all] } } : {}),
  };
}
