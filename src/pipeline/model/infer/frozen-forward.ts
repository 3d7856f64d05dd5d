/**
 * The frozen prefix compiled for inference (activation cache fill, augmented sets through the frozen
 * layers): its steps (plan.ts) run as plain tensor ops, each conv with its BatchNorm folded in and
 * its activation fused (tf.fused.conv2d / depthwiseConv2d), intermediates freed as soon as their last
 * reader ran. Only for frozen layers in inference mode: compiling a model with a trainable weighted
 * layer is an error, and training never goes through here.
 *
 * Modes: `fused` (the above), `unfused` (the same executor, one step per layer, nothing folded: for
 * profiles), `predict` (the model's own `predict`, as before this module). The folded weights are
 * made on first use and made again when a source weight was assigned since (its tensor changed).
 *
 * On tfjs-node (4.22) a fused conv is still three TensorFlow ops: its FusedConv2D/FusedDepthwiseConv2D
 * kernels run Conv2D, then an Add for the bias, then the activation (TensorFlow's own _FusedConv2D
 * needs a list-of-strings attribute, `fused_ops`, which the binding cannot pass). Folding saves the
 * BatchNorm op, not the bias add.
 */
import * as tf from '@tensorflow/tfjs';
import { InternalError } from '../../../errors.js';
import { foldBatchNorm } from './fold.js';
import { planSteps, type ConvStep, type Step } from './plan.js';

export type FrozenForwardMode = 'fused' | 'unfused' | 'predict';

/** Raised whenever a change alters the compiled forward's arithmetic: activation-cache keys carry it. */
export const FROZEN_FORWARD_REVISION = 1;

export interface FrozenForwardStats {
  readonly layers: number;
  readonly steps: number;
  readonly foldedBatchNorms: number;
  readonly fusedActivations: number;
  readonly mergedPaddings: number;
}

export interface FrozenForward {
  readonly mode: FrozenForwardMode;
  readonly stats: FrozenForwardStats;
  /** The prefix's output for a batch of its input; a new tensor the caller disposes. */
  predict(x: tf.Tensor): tf.Tensor;
  /** Frees the folded weights (not the model's). */
  dispose(): void;
}

interface Folded {
  readonly filter: tf.Tensor4D;
  readonly bias: tf.Tensor1D | undefined;
  readonly owned: boolean;
  /** The source weights' tensors when folded: a new tensor means the weight was assigned since. */
  readonly sources: readonly object[];
}

const is4d = (t: tf.Tensor): t is tf.Tensor4D => t.rank === 4;
const is1d = (t: tf.Tensor): t is tf.Tensor1D => t.rank === 1;

function sourcesOf(step: ConvStep): object[] {
  return [...step.conv.weights, ...(step.bn?.weights ?? [])].map((w) => w.read().dataId);
}

function fold(step: ConvStep): Folded {
  const [kernel, bias] = step.conv.weights.map((w) => w.read());
  if (kernel === undefined || !is4d(kernel) || (step.useBias && (bias === undefined || !is1d(bias)))) {
    throw new InternalError(`conv layer ${step.conv.name}: expected a rank-4 kernel${step.useBias ? ' and a bias' : ''}`);
  }
  const b = step.useBias && bias !== undefined && is1d(bias) ? bias : undefined;
  if (step.bn === undefined) return { filter: kernel, bias: b, owned: false, sources: sourcesOf(step) };
  const [gamma, beta, movingMean, movingVariance] = step.bn.weights.map((w) => w.read().dataSync());
  if (!(gamma instanceof Float32Array && beta instanceof Float32Array && movingMean instanceof Float32Array && movingVariance instanceof Float32Array)) {
    throw new InternalError(`BatchNormalization ${step.bn.name}: expected four float32 weights`);
  }
  const k = kernel.dataSync();
  const bv = b?.dataSync();
  if (!(k instanceof Float32Array) || (bv !== undefined && !(bv instanceof Float32Array))) throw new InternalError(`conv layer ${step.conv.name}: weights are not float32`);
  const f = foldBatchNorm(k, kernel.shape, bv, { gamma, beta, movingMean, movingVariance, epsilon: step.bn.epsilon }, step.convKind);
  return { filter: tf.tensor4d(f.kernel, kernel.shape), bias: tf.tensor1d(f.bias), owned: true, sources: sourcesOf(step) };
}

function runConv(step: ConvStep, x: tf.Tensor, w: Folded): tf.Tensor {
  if (!is4d(x)) throw new InternalError(`conv layer ${step.conv.name} got a rank-${x.rank} input`);
  const args = { x, filter: w.filter, strides: step.strides, pad: step.pad, dilations: step.dilations, activation: step.activation, ...(w.bias === undefined ? {} : { bias: w.bias }) };
  return step.convKind === 'conv2d' ? tf.fused.conv2d({ ...args, dataFormat: 'NHWC' }) : tf.fused.depthwiseConv2d(args);
}

function runLayer(layer: tf.layers.Layer, ins: tf.Tensor[]): tf.Tensor {
  const y = layer.call(ins.length === 1 && ins[0] !== undefined ? ins[0] : ins, { training: false });
  if (Array.isArray(y)) throw new InternalError(`layer ${layer.name} gave several outputs`);
  return y;
}

function checkFrozen(model: tf.LayersModel): void {
  const trainable = model.layers.filter((l) => l.trainable && l.weights.length > 0).map((l) => l.name);
  if (trainable.length > 0) throw new InternalError(`the inference-compiled prefix ${model.name} has trainable layers (${trainable.slice(0, 5).join(', ')}); only frozen layers compile`);
}

export function compileFrozenForward(model: tf.LayersModel, mode: FrozenForwardMode = 'fused'): FrozenForward {
  checkFrozen(model);
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer').length;
  if (mode === 'predict') {
    const predict = (x: tf.Tensor): tf.Tensor => {
      const y = model.predict(x, { batchSize: x.shape[0] ?? 1 });
      if (Array.isArray(y)) throw new InternalError(`${model.name} gave several outputs`);
      return y;
    };
    return { mode, stats: { layers, steps: layers, foldedBatchNorms: 0, fusedActivations: 0, mergedPaddings: 0 }, predict, dispose: () => undefined };
  }
  const steps = planSteps(model, mode === 'fused');
  const convs = steps.filter((s): s is ConvStep => s.kind === 'conv');
  const input = model.inputs[0]?.id;
  const output = model.outputs[0]?.id;
  if (model.inputs.length !== 1 || input === undefined || output === undefined) throw new InternalError(`${model.name} must have one input and one output`);
  const reads = new Map<number, number>();
  for (const s of steps) for (const id of inputIds(s)) reads.set(id, (reads.get(id) ?? 0) + 1);
  const folded = new Map<ConvStep, Folded>();
  const weightsOf = (step: ConvStep): Folded => {
    const have = folded.get(step);
    const now = sourcesOf(step);
    if (have !== undefined && have.sources.every((s, i) => s === now[i])) return have;
    if (have?.owned === true) tf.dispose([have.filter, ...(have.bias === undefined ? [] : [have.bias])]);
    const made = fold(step);
    // kept: predict folds inside its own tidy, which must not free them
    if (made.owned) tf.keep(made.filter);
    if (made.owned && made.bias !== undefined) tf.keep(made.bias);
    folded.set(step, made);
    return made;
  };
  const predict = (x: tf.Tensor): tf.Tensor =>
    tf.tidy(() => {
      const live = new Map<number, tf.Tensor>([[input, x]]);
      const left = new Map(reads);
      for (const step of steps) {
        const ins = inputIds(step).map((id) => live.get(id) ?? missing(id, step));
        const y = step.kind === 'conv' ? runConv(step, ins[0] ?? missing(step.input, step), weightsOf(step)) : runLayer(step.layer, ins);
        live.set(step.output, y);
        for (const id of inputIds(step)) release(id, live, left, input, output);
      }
      return live.get(output) ?? missing(output, undefined);
    });
  return {
    mode,
    stats: {
      layers,
      steps: steps.length,
      foldedBatchNorms: convs.filter((c) => c.bn !== undefined).length,
      fusedActivations: convs.filter((c) => c.layers.some((l) => l !== c.conv && l !== c.bn && l.getClassName() !== 'ZeroPadding2D')).length,
      mergedPaddings: convs.filter((c) => c.mergedPadding).length,
    },
    predict,
    dispose: () => {
      for (const f of folded.values()) if (f.owned) tf.dispose([f.filter, ...(f.bias === undefined ? [] : [f.bias])]);
      folded.clear();
    },
  };
}

function inputIds(step: Step): readonly number[] {
  return step.kind === 'conv' ? [step.input] : step.inputs;
}

function missing(id: number, step: Step | undefined): never {
  throw new InternalError(`tensor ${id} is not computed before ${step === undefined ? 'the output' : step.kind === 'conv' ? step.conv.name : step.layer.name}`);
}

/** Frees an intermediate after its last reader, unless another live entry holds the same tensor. */
function release(id: number, live: Map<number, tf.Tensor>, left: Map<number, number>, input: number, output: number): void {
  const n = (left.get(id) ?? 0) - 1;
  left.set(id, n);
  if (n > 0 || id === input || id === output) return;
  const t = live.get(id);
  live.delete(id);
  if (t !== undefined && ![...live.values()].includes(t)) t.dispose();
}
