/**
 * Checks of the label-scarce recipes' parameters (issue 17): the ridge-solved linear probe needs a
 * linear head on a frozen backbone (λ is chosen on the validation split, by leave-one-out without one, or from its prior at 1 label
 * per class: train/ridge-choice.ts); none of them applies to
 * the adaptation path, which has its own head and training loop.
 */
import { ParamError } from '../../errors.js';
import { chooseHeadSolver, type HeadSolverParams } from './head-solver.js';
import type { TrainParams } from './train.js';

type FewLabelParams = HeadSolverParams & Pick<TrainParams, 'tta' | 'backbone_lr_factor' | 'l2sp_weight' | 'fine_tune_conv_layers' | 'fine_tune_blocks'>;

/** `spec`: the backbone's name and usual head (what `head_solver=auto` reads). */
export function checkFewLabelParams(params: FewLabelParams, spec: { readonly head: string; readonly name: string }): void {
  const adapting = params.adaptation !== 'none' || params.target_dataset !== undefined;
  const given: [string, string, boolean][] = [
    ['head', params.head, params.head === 'linear'],
    ['head_solver', params.head_solver, params.head_solver === 'ridge'],
    ['tta', params.tta, params.tta !== 'none'],
    ['backbone_lr_factor', String(params.backbone_lr_factor), params.backbone_lr_factor !== 1],
    ['l2sp_weight', String(params.l2sp_weight), params.l2sp_weight !== 0],
  ];
  const refused = given.find(([, , on]) => on);
  if (adapting && refused !== undefined) {
    const [name, value] = refused;
    throw new ParamError(name, `Parameter "${name}" (${value}) is not available with domain adaptation (adaptation/target_dataset); leave it at its default`);
  }
  checkFineTuning(params);
  if (chooseHeadSolver(params, spec).solver !== 'ridge') return;
  if (params.head !== 'auto' && params.head !== 'linear') {
    throw new ParamError('head', `Parameter "head" must be "linear" or "auto" with head_solver=ridge (the ridge solve fits a Dense layer on pooled features), got "${params.head}"`);
  }
  const retrained = params.retrained_blocks !== 0 ? (['retrained_blocks', params.retrained_blocks] as const) : params.retrained_conv_layers !== 0 ? (['retrained_conv_layers', params.retrained_conv_layers] as const) : undefined;
  if (retrained !== undefined) {
    throw new ParamError(
      retrained[0],
      `Parameter "${retrained[0]}" must be 0 with head_solver=ridge (the probe solves the head on a frozen backbone; unfreeze blocks in a fine-tuning stage with fine_tune_blocks), got ${String(retrained[1])}`,
    );
  }
}

/** backbone_lr_factor and l2sp_weight act only while backbone layers train, and L2-SP needs weights to pull toward. */
function checkFineTuning(params: FewLabelParams): void {
  const trains = [params.retrained_conv_layers, params.retrained_blocks, params.fine_tune_conv_layers, params.fine_tune_blocks].some((n) => n !== 0);
  const given = params.backbone_lr_factor !== 1 ? (['backbone_lr_factor', params.backbone_lr_factor] as const) : params.l2sp_weight !== 0 ? (['l2sp_weight', params.l2sp_weight] as const) : undefined;
  if (given !== undefined && !trains) {
    throw new ParamError(
      given[0],
      `Parameter "${given[0]}" (${given[1]}) acts only while backbone layers train, and this run trains none; set retrained_blocks/retrained_conv_layers or fine_tune_blocks/fine_tune_conv_layers, or leave it at its default`,
    );
  }
  if (params.l2sp_weight !== 0 && params.weights === 'none') {
    throw new ParamError('l2sp_weight', `Parameter "l2sp_weight" (${params.l2sp_weight}) pulls the backbone toward its transferred weights, but weights=none starts from random ones; use pretrained weights or l2sp_weight=0`);
  }
}
