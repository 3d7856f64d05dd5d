/**
 * Between a training model and a checkpoint's tensors: the trainable weights (matched by their
 * layer-scoped names, stable across processes), the optimizer's state (Adam's step count and
 * moments, in the order the optimizer keeps them) and the early-stopping best weights.
 */
import * as tf from '@tensorflow/tfjs';
import { stateWeights } from '../model/state-weights.js';
import type { EarlyStopState } from '../train/early-stop.js';
import type { RawTensor } from './format.js';

export class CheckpointMismatchError extends Error {}

async function raw(name: string, t: tf.Tensor): Promise<RawTensor> {
  const dtype = t.dtype === 'int32' ? 'int32' : 'float32';
  const values = dtype === 'int32' ? Int32Array.from(await t.data()) : Float32Array.from(await t.data());
  return { name, shape: t.shape, dtype, values };
}

export async function snapshotTensors(model: tf.LayersModel, earlyStop: EarlyStopState | undefined): Promise<Record<string, RawTensor[]>> {
  const state = stateWeights(model);
  const weights = await Promise.all(state.map((w) => raw(w.originalName, w.read())));
  const optimizer = model.optimizer === undefined ? [] : await model.optimizer.getWeights();
  const opt = await Promise.all(optimizer.map((w) => raw(w.name, w.tensor)));
  const best = await Promise.all((earlyStop?.weights ?? []).map((t, i) => raw(state[i]?.originalName ?? String(i), t)));
  return { weights, optimizer: opt, best };
}

const tensorOf = (t: RawTensor) => tf.tensor(t.values, [...t.shape], t.dtype);

/** Writes saved trainable weights and optimizer state into a compiled model. */
export async function restoreTensors(model: tf.LayersModel, tensors: Readonly<Record<string, readonly RawTensor[]>>): Promise<void> {
  const saved = new Map((tensors['weights'] ?? []).map((t) => [t.name, t]));
  const trainable = stateWeights(model);
  if (saved.size !== trainable.length) throw new CheckpointMismatchError(`the checkpoint has ${saved.size} trainable weights, the model ${trainable.length}`);
  for (const w of trainable) {
    const t = saved.get(w.originalName);
    if (t === undefined) throw new CheckpointMismatchError(`the checkpoint has no weight ${w.originalName}`);
    if (t.shape.join('x') !== w.shape.join('x')) throw new CheckpointMismatchError(`weight ${w.originalName} is ${t.shape.join('×')} in the checkpoint, ${w.shape.join('×')} in the model`);
    const value = tensorOf(t);
    w.write(value);
    value.dispose();
  }
  const opt = tensors['optimizer'] ?? [];
  if (opt.length > 0) {
    if (model.optimizer === undefined) throw new CheckpointMismatchError('the model is not compiled');
    await model.optimizer.setWeights(opt.map((t) => ({ name: t.name, tensor: tensorOf(t) })));
  }
}

/** The early-stopping state with its best weights as tensors (the caller's BestWeights clones them). */
export function earlyStopFrom(counters: { bestLoss: number; bestEpoch: number; wait: number } | null, tensors: Readonly<Record<string, readonly RawTensor[]>>): EarlyStopState | undefined {
  if (counters === null) return undefined;
  const best = tensors['best'] ?? [];
  return { ...counters, weights: best.length === 0 ? undefined : best.map(tensorOf) };
}
