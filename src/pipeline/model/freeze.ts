/**
 * Freezing by conv layer or by block: the last N conv layers (or the conv layers of the last N
 * blocks) of the base train, every other base layer is frozen. The flag is set on each layer (never
 * on a container), and the model must be compiled afterwards.
 */
import type * as tf from '@tensorflow/tfjs';
import { ParamError } from '../../errors.js';
import { convLayerNames, type BackboneSpec } from './backbones.js';

export interface FreezePlan {
  readonly trainableConv: readonly string[];
  readonly frozenConv: readonly string[];
}

/** How many of the last conv layers, or of the last blocks, train; the parameter names for errors. */
export interface FreezeRequest {
  readonly convLayers: number | 'all';
  readonly blocks: number | 'all';
  readonly names?: { readonly convLayers: string; readonly blocks: string };
}

const DEFAULT_NAMES = { convLayers: 'retrained_conv_layers', blocks: 'retrained_blocks' } as const;

function trainableCount(spec: BackboneSpec, request: FreezeRequest): number {
  const names = request.names ?? DEFAULT_NAMES;
  const convs = convLayerNames(spec).length;
  const { convLayers, blocks } = request;
  if (convLayers !== 0 && blocks !== 0) {
    throw new ParamError(
      names.blocks,
      `Parameters "${names.convLayers}" (${String(convLayers)}) and "${names.blocks}" (${String(blocks)}) both ask for trainable layers; give one of them and leave the other at 0`,
    );
  }
  if (blocks !== 0) {
    const n = blocks === 'all' ? spec.blocks.length : blocks;
    if (n > spec.blocks.length) {
      throw new ParamError(
        names.blocks,
        `Parameter "${names.blocks}" must be from 0 to ${spec.blocks.length} (backbone ${spec.name} has ${spec.blocks.length} blocks) or "all", got ${n} (number)`,
      );
    }
    return spec.blocks.slice(spec.blocks.length - n).reduce((sum, block) => sum + block.length, 0);
  }
  const n = convLayers === 'all' ? convs : convLayers;
  if (n > convs) {
    throw new ParamError(
      names.convLayers,
      `Parameter "${names.convLayers}" must be from 0 to ${convs} (backbone ${spec.name} has ${convs} conv layers) or "all", got ${n} (number)`,
    );
  }
  return n;
}

export function planFreeze(spec: BackboneSpec, request: FreezeRequest | number | 'all'): FreezePlan {
  const req = typeof request === 'object' ? request : { convLayers: request, blocks: 0 };
  const convs = convLayerNames(spec);
  const n = trainableCount(spec, req);
  return { trainableConv: convs.slice(convs.length - n), frozenConv: convs.slice(0, convs.length - n) };
}

/** Sets `trainable` on every layer: frozen conv layers off, everything else on. */
export function applyFreeze(model: tf.LayersModel, plan: FreezePlan): void {
  const frozen = new Set(plan.frozenConv);
  for (const layer of model.layers) layer.trainable = !frozen.has(layer.name);
}
