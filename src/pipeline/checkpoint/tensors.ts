/**
 * Between a training model and a checkpoint's tensors: the trainable weights (matched by their
 * layer-scoped names, stable across processes), the optimizer's state (Adam's step count and
 * moments, in the order the optimizer keeps them) and the early-stopping best weights.
 */
import * as tf from '@tensorflow/tfjs';
import { CheckpointError } from '../../errors.js';
import { stateWeights } from '../model/state-weights.js';
import type { EarlyStopState } from '../train/early-stop.js';
import type { RawTensor } from './format.js';

/** The checkpoint's tensors do not fit the model; RunCheckpoints adds the file and the way out. */
export class CheckpointMismatchError extends CheckpointError {}

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

const dims = (shape: readonly (number | null)[]) => shape.join('×');

/**
 * Checks that `group` holds, by name and shape, exactly the model's state weights (`ordered`: also
 * in their order, as early stopping restores them by position); returns them by name.
 */
function matchState(model: tf.LayersModel, group: readonly RawTensor[], what: string, ordered = false): Map<string, RawTensor> {
  const saved = new Map(group.map((t) => [t.name, t]));
  const state = stateWeights(model);
  if (saved.size !== state.length) throw new CheckpointMismatchError(`the checkpoint has ${saved.size} ${what}, the model ${state.length}`);
  for (const [i, w] of state.entries()) {
    if (ordered && group[i]?.name !== w.originalName) throw new CheckpointMismatchError(`${what}: position ${i} holds ${group[i]?.name ?? 'nothing'} in the checkpoint, ${w.originalName} in the model`);
    const t = saved.get(w.originalName);
    if (t === undefined) throw new CheckpointMismatchError(`the checkpoint's ${what} have no ${w.originalName}`);
    if (dims(t.shape) !== dims(w.shape)) throw new CheckpointMismatchError(`${what}: ${w.originalName} is ${dims(t.shape)} in the checkpoint, ${dims(w.shape)} in the model`);
  }
  return saved;
}

/** The optimizer's slots (after its step count) have the shapes of the trainable weights, a whole number of times over. */
function checkOptimizer(model: tf.LayersModel, opt: readonly RawTensor[]): void {
  const want = model.trainableWeights.map((w) => dims(w.shape)).sort();
  const got = opt.slice(1).map((t) => dims(t.shape)).sort();
  const times = want.length === 0 ? 0 : got.length / want.length;
  const expected = Array.from({ length: Number.isInteger(times) ? times : 0 }, () => want).flat().sort();
  if (got.length !== expected.length || got.some((g, i) => g !== expected[i])) {
    throw new CheckpointMismatchError(`its optimizer state has ${got.length} slots shaped ${got.join(', ') || 'nothing'}, which do not match the model's ${want.length} trainable weights (${want.join(', ')})`);
  }
}

/** Writes saved trainable weights and optimizer state into a compiled model, after checking that all of it fits. */
export async function restoreTensors(model: tf.LayersModel, tensors: Readonly<Record<string, readonly RawTensor[]>>): Promise<void> {
  const saved = matchState(model, tensors['weights'] ?? [], 'trainable weights');
  const best = tensors['best'] ?? [];
  if (best.length > 0) matchState(model, best, 'best weights', true);
  const opt = tensors['optimizer'] ?? [];
  if (opt.length > 0) {
    if (model.optimizer === undefined) throw new CheckpointMismatchError('the model is not compiled');
    checkOptimizer(model, opt);
  }
  for (const w of stateWeights(model)) {
    const t = saved.get(w.originalName);
    if (t === undefined) continue; // matchState found every one
    const value = tensorOf(t);
    w.write(value);
    value.dispose();
  }
  if (opt.length > 0) await model.optimizer?.setWeights(opt.map((t) => ({ name: t.name, tensor: tensorOf(t) })));
}

/** The early-stopping state with its best weights as tensors (the caller's BestWeights clones them). */
export function earlyStopFrom(counters: { bestLoss: number; bestEpoch: number; wait: number } | null, tensors: Readonly<Record<string, readonly RawTensor[]>>): EarlyStopState | undefined {
  if (counters === null) return undefined;
  const best = tensors['best'] ?? [];
  return { ...counters, weights: best.length === 0 ? undefined : best.map(tensorOf) };
}
