/**
 * The frozen prefix as a list of inference steps, read from the model's own layers and wiring (no
 * backbone names): each Conv2D/DepthwiseConv2D becomes one fused conv step that takes in
 *   - a ZeroPadding2D right before it (its only reader, the conv 'valid') whose padding is exactly
 *     what TF 'SAME' pads at this input size (Keras's correct_pad always is): the conv pads 'same';
 *   - a BatchNormalization right after it (the conv's only reader, conv without activation):
 *     folded into kernel and bias (fold.ts);
 *   - then an activation tf.fused supports (Activation relu/relu6/sigmoid/elu, ReLU, ReLU(6)) when
 *     it is the only reader.
 * Every other layer is a step of its own, run by its `call` with training false. With `fuse: false`
 * every layer is its own step (the same computation as `predict`, without the folding).
 */
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { InternalError } from '../../../errors.js';
import { inputsOf, outputOf } from '../graph.js';
import { FreezableBatchNorm } from '../layers/batch-norm.js';
import type { ConvKind } from './fold.js';

export type FusedActivation = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'elu';
const FUSABLE: ReadonlySet<string> = new Set<FusedActivation>(['linear', 'relu', 'relu6', 'sigmoid', 'elu']);
const isFusable = (a: string): a is FusedActivation => FUSABLE.has(a);

export interface ConvStep {
  readonly kind: 'conv';
  readonly conv: tf.layers.Layer;
  readonly convKind: ConvKind;
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly pad: 'same' | 'valid';
  /** A ZeroPadding2D merged in (its padding is what 'same' pads at this input size). */
  readonly mergedPadding: boolean;
  readonly useBias: boolean;
  readonly bn: FreezableBatchNorm | undefined;
  readonly activation: FusedActivation;
  /** The layers this step replaces, in order (for counts and messages). */
  readonly layers: readonly tf.layers.Layer[];
  readonly input: number;
  readonly output: number;
}

export interface LayerStep {
  readonly kind: 'layer';
  readonly layer: tf.layers.Layer;
  readonly inputs: readonly number[];
  readonly output: number;
}

export type Step = ConvStep | LayerStep;

const pair = z.tuple([z.number().int(), z.number().int()]);
const convConfig = z.object({
  kernelSize: pair,
  strides: pair,
  dilationRate: z.union([pair, z.number().int()]),
  padding: z.enum(['same', 'valid']),
  dataFormat: z.literal('channelsLast'),
  activation: z.string(),
  useBias: z.boolean(),
});
const activationConfig = z.object({ activation: z.string() });
const reluConfig = z.object({ maxValue: z.number().nullish() });
const paddingConfig = z.object({ padding: z.tuple([pair, pair]), dataFormat: z.literal('channelsLast') });

/** The activation a layer applies, if it is an activation layer tf.fused can take over. */
function activationOf(layer: tf.layers.Layer): FusedActivation | undefined {
  const cls = layer.getClassName();
  if (cls === 'Activation') {
    const a = activationConfig.parse(layer.getConfig()).activation;
    return isFusable(a) ? a : undefined;
  }
  if (cls === 'ReLU') {
    const max = reluConfig.parse(layer.getConfig()).maxValue;
    return max === undefined || max === null ? 'relu' : max === 6 ? 'relu6' : undefined;
  }
  return undefined;
}

/** The layers reading each symbolic tensor. */
function readersOf(layers: readonly tf.layers.Layer[]): Map<number, tf.layers.Layer[]> {
  const readers = new Map<number, tf.layers.Layer[]>();
  for (const layer of layers) for (const t of inputsOf(layer)) readers.set(t.id, [...(readers.get(t.id) ?? []), layer]);
  return readers;
}

/** The one layer reading `id`, unless it is the model's output or read by several. */
function soleReader(readers: ReadonlyMap<number, readonly tf.layers.Layer[]>, id: number, output: number): tf.layers.Layer | undefined {
  const r = readers.get(id);
  return id === output || r?.length !== 1 ? undefined : r[0];
}

/** TF 'SAME' padding (before, after) of one spatial axis of length `size`, or undefined if unknown. */
export function samePadding(size: number | null | undefined, kernel: number, stride: number, dilation: number): [number, number] | undefined {
  if (typeof size !== 'number' || stride < 1) return undefined;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The inference steps of `model` (a functional model whose layers are in topological order). */
export function planSteps(model: tf.LayersModel, fuse: boolean): Step[] {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const output = model.outputs[0]?.id;
  if (model.outputs.length !== 1 || output === undefined) throw new InternalError(`the frozen prefix ${model.name} must have one output`);
  const readers = readersOf(layers);
  const absorbed = new Set<tf.layers.Layer>();
  const steps: Step[] = [];
  for (const layer of layers) {
    if (absorbed.has(layer)) continue;
    const cls = layer.getClassName();
    const convKind = cls === 'Conv2D' ? 'conv2d' : cls === 'DepthwiseConv2D' ? 'depthwise' : undefined;
    const config = convKind === undefined ? undefined : convConfig.parse(layer.getConfig());
    // tfjs-layers' DepthwiseConv2D ignores its own dilation_rate, and the steps must compute what the
    // model does: a dilated depthwise conv runs as the layer itself
    const dilatedDepthwise = convKind === 'depthwise' && config !== undefined && [config.dilationRate].flat().some((d) => d !== 1);
    // a conv with its own swish (EfficientNet-B0's se_reduce) runs as it is
    if (!fuse || convKind === undefined || config === undefined || dilatedDepthwise || !isFusable(config.activation)) {
      steps.push({ kind: 'layer', layer, inputs: inputsOf(layer).map((t) => t.id), output: outputOf(layer).id });
      continue;
    }
    steps.push(convStep(layer, convKind, readers, output, absorbed, steps));
  }
  return steps;
}

function convStep(
  conv: tf.layers.Layer,
  convKind: ConvKind,
  readers: ReadonlyMap<number, readonly tf.layers.Layer[]>,
  output: number,
  absorbed: Set<tf.layers.Layer>,
  steps: Step[],
): ConvStep {
  const c = convConfig.parse(conv.getConfig());
  const [input] = inputsOf(conv);
  if (input === undefined || inputsOf(conv).length !== 1) throw new InternalError(`conv layer ${conv.name} must read one tensor`);
  const taken: tf.layers.Layer[] = [];
  let inputId = input.id;
  let pad: ConvStep['pad'] = c.padding;
  // A ZeroPadding2D step just before, read only by this 'valid' conv, padding as 'same' would.
  const prev = steps.at(-1);
  let mergedPadding = false;
  if (c.padding === 'valid' && prev?.kind === 'layer' && prev.output === input.id && prev.layer.getClassName() === 'ZeroPadding2D' && soleReader(readers, input.id, output) === conv) {
    const padding = paddingConfig.parse(prev.layer.getConfig()).padding;
    const [padIn] = inputsOf(prev.layer);
    const dilations = typeof c.dilationRate === 'number' ? [c.dilationRate, c.dilationRate] : c.dilationRate;
    const same = [1, 2].map((axis, i) => samePadding(padIn?.shape[axis], c.kernelSize[i] ?? 0, c.strides[i] ?? 0, dilations[i] ?? 0));
    if (padIn !== undefined && prev.inputs.length === 1 && same.every((p, i) => p !== undefined && p[0] === padding[i]?.[0] && p[1] === padding[i]?.[1])) {
      steps.pop();
      taken.push(prev.layer);
      inputId = padIn.id;
      pad = 'same';
      mergedPadding = true;
    }
  }
  taken.push(conv);
  let out = outputOf(conv).id;
  let bn: FreezableBatchNorm | undefined;
  if (!isFusable(c.activation)) throw new InternalError(`conv layer ${conv.name} has activation ${c.activation}, which tf.fused does not run`);
  let activation: FusedActivation = c.activation;
  const next = soleReader(readers, out, output);
  if (activation === 'linear' && next instanceof FreezableBatchNorm) {
    bn = next;
    taken.push(next);
    out = outputOf(next).id;
  }
  const after = activation === 'linear' ? soleReader(readers, out, output) : undefined;
  const fused = after === undefined ? undefined : activationOf(after);
  if (after !== undefined && fused !== undefined) {
    activation = fused;
    taken.push(after);
    out = outputOf(after).id;
  }
  for (const l of taken) absorbed.add(l);
  const dilations: [number, number] = typeof c.dilationRate === 'number' ? [c.dilationRate, c.dilationRate] : c.dilationRate;
  return { kind: 'conv', conv, convKind, strides: c.strides, dilations, pad, mergedPadding, useBias: c.useBias, bn, activation, layers: taken, input: inputId, output: out };
}
