/**
 * Freezing by conv layer: the last N conv layers of the base train, every other base layer is frozen.
 * The flag is set on each layer (never on a container), and the model must be compiled afterwards.
 */
import type * as tf from '@tensorflow/tfjs';
import { ParamError } from '../../errors.js';
import { convLayerNames, type BackboneSpec } from './backbones.js';

export interface FreezePlan {
  readonly trainableConv: readonly string[];
  readonly frozenConv: readonly string[];
}

export function planFreeze(spec: BackboneSpec, retrained: number | 'all'): FreezePlan {
  const convs = convLayerNames(spec);
  const n = retrained === 'all' ? convs.length : retrained;
  if (n > convs.length) {
    throw new ParamError(
      'retrained_conv_layers',
      `Parameter "retrained_conv_layers" must be from 0 to ${convs.length} (backbone ${spec.name} has ${convs.length} conv layers) or "all", got ${n}`,
    );
  }
  return { trainableConv: convs.slice(convs.length - n), frozenConv: convs.slice(0, convs.length - n) };
}

/** Sets `trainable` on every layer: frozen conv layers off, everything else on. */
export function applyFreeze(model: tf.LayersModel, plan: FreezePlan): void {
  const frozen = new Set(plan.frozenConv);
  for (const layer of model.layers) layer.trainable = !frozen.has(layer.name);
}
