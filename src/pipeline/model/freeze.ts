/**
 * Freezing: which of the backbone's units train. A unit is a conv layer on plain stacks (VGG: "the
 * last N conv layers") or a block as the registry defines it (every backbone: "the last N blocks").
 * The flag is set on each layer (never on a container), and the model must be compiled afterwards.
 * A frozen layer is frozen for good: BatchNorm in it runs on its moving statistics and Dropout in it
 * is off, as Keras does for `trainable = False` (layers/batch-norm.ts, dropout.ts).
 */
import type * as tf from '@tensorflow/tfjs';
import { ParamError } from '../../errors.js';
import type { BackboneSpec } from './backbones.js';
import { backboneLayers } from './build.js';
import { stackConvLayers } from './spec.js';

export interface FreezePlan {
  /** Conv layer names (`unit: 'conv'`) or block names (`unit: 'block'`) that train, in network order. */
  readonly trainable: readonly string[];
  readonly frozen: readonly string[];
  readonly unit: 'conv' | 'block';
}

/** How many of the last conv layers, or of the last blocks, train; the parameter names for errors. */
export interface FreezeRequest {
  readonly convLayers: number | 'all';
  readonly blocks: number | 'all';
  readonly names?: { readonly convLayers: string; readonly blocks: string };
}

const DEFAULT_NAMES = { convLayers: 'retrained_conv_layers', blocks: 'retrained_blocks' } as const;

function lastN(all: readonly string[], n: number, unit: FreezePlan['unit']): FreezePlan {
  return { trainable: all.slice(all.length - n), frozen: all.slice(0, all.length - n), unit };
}

function checkCount(param: string, n: number, max: number, what: string, spec: BackboneSpec): void {
  if (n > max) {
    throw new ParamError(param, `Parameter "${param}" must be from 0 to ${max} (backbone ${spec.name} has ${max} ${what}) or "all", got ${n} (number)`);
  }
}

export function planFreeze(spec: BackboneSpec, request: FreezeRequest | number | 'all'): FreezePlan {
  const req = typeof request === 'object' ? request : { convLayers: request, blocks: 0 };
  const names = req.names ?? DEFAULT_NAMES;
  const { convLayers, blocks } = req;
  if (convLayers !== 0 && blocks !== 0) {
    throw new ParamError(
      names.blocks,
      `Parameters "${names.convLayers}" (${String(convLayers)}) and "${names.blocks}" (${String(blocks)}) both ask for trainable layers; give one of them and leave the other at 0`,
    );
  }
  const blockNames = spec.blocks.map((b) => b.name);
  const convs = stackConvLayers(spec);
  if (convs === undefined) {
    if (convLayers !== 0 && convLayers !== 'all') {
      throw new ParamError(
        names.convLayers,
        `Parameter "${names.convLayers}" counts conv layers of a plain stack, but backbone ${spec.name} is a graph of blocks (residual branches), where "the last ${convLayers} conv layers" is ambiguous; got ${convLayers} (number). ` +
          `Use "${names.blocks}" (0 to ${blockNames.length}: ${blockNames.join(', ')}) instead`,
      );
    }
    const n = convLayers === 'all' || blocks === 'all' ? blockNames.length : blocks;
    checkCount(names.blocks, n, blockNames.length, 'blocks', spec);
    return lastN(blockNames, n, 'block');
  }
  if (blocks !== 0) {
    const n = blocks === 'all' ? blockNames.length : blocks;
    checkCount(names.blocks, n, blockNames.length, 'blocks', spec);
    const count = spec.blocks.slice(spec.blocks.length - n).reduce((sum, b) => sum + (b.convLayers?.length ?? 0), 0);
    return lastN(convs, count, 'conv');
  }
  const n = convLayers === 'all' ? convs.length : convLayers;
  checkCount(names.convLayers, n, convs.length, 'conv layers', spec);
  return lastN(convs, n, 'conv');
}

/**
 * The plan as run parameters: `trainable_conv_layers` (plain stacks) or `trainable_blocks`, each the
 * trainable units' names or `none`; `prefix` names a later stage's (`fine_tune_`). No plan, nothing.
 */
export function trainableParams(plan: FreezePlan | undefined, prefix: string): Record<string, string> {
  if (plan === undefined) return {};
  const key = plan.unit === 'block' ? 'trainable_blocks' : 'trainable_conv_layers';
  return { [`${prefix}${key}`]: plan.trainable.join(',') || (prefix === '' ? 'none' : '') };
}

/** Sets `trainable` on every layer: the backbone's frozen units off, everything else on. */
export function applyFreeze(model: tf.LayersModel, spec: BackboneSpec, plan: FreezePlan): void {
  const frozen = new Set(plan.frozen);
  const inBackbone = new Map(backboneLayers(model, spec).map(({ layer, block }) => [layer.name, block]));
  for (const layer of model.layers) {
    const block = inBackbone.get(layer.name);
    const unit = plan.unit === 'block' ? block : layer.name;
    layer.trainable = unit === undefined || !frozen.has(unit);
  }
}
