/**
 * Between a training model and a checkpoint's tensors: the trainable weights (matched by their
 * layer-scoped names, stable across processes), the optimizer's state (Adam's step count and
 * moments, in the order the optimizer keeps them), the early-stopping best weights and the training
 * step's own state (group `step`, restored by the step).
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

export async function snapshotTensors(model: tf.LayersModel, earlyStop: EarlyStopState | undefined, step: readonly RawTensor[] = []): Promise<Record<string, RawTensor[]>> {
  const state = stateWeights(model);
  const weights = await Promise.all(state.map((w) => raw(w.originalName, w.read())));
  const optimizer = model.optimizer === undefined ? [] : await model.optimizer.getWeights();
  const opt = await Promise.all(optimizer.map((w) => raw(w.name, w.tensor)));
  const best = await Promise.all((earlyStop?.weights ?? []).map((t, i) => raw(state[i]?.originalName ?? String(i), t)));
  return { weights, optimizer: opt, best, step: [...step] };
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

/**
 * The optimizer's slots (after its step count) have the shapes of the trainable weights (the model's
 * and `extra`, the step's own), a whole number of times over.
 */
function checkOptimizer(model: tf.LayersModel, opt: readonly RawTensor[], extra: readonly (readonly number[])[]): void {
  const want = [...model.trainableWeights.map((w) => dims(w.shape)), ...extra.map(dims)].sort();
  const got = opt.slice(1).map((t) => dims(t.shape)).sort();
  const times = want.length === 0 ? 0 : got.length / want.length;
  const expected = Array.from({ length: Number.isInteger(times) ? times : 0 }, () => want).flat().sort();
  if (got.length !== expected.length || got.some((g, i) => g !== expected[i])) {
    throw new CheckpointMismatchError(`its optimizer state has ${got.length} slots shaped ${got.join(', ') || 'nothing'}, which do not match the model's ${want.length} trainable weights (${want.join(', ')})`);
  }
}

/** Writes saved trainable weights and optimizer state into a compiled model, after checking that all of it fits. */
export async function restoreTensors(model: tf.LayersModel, tensors: Readonly<Record<string, readonly RawTensor[]>>, extraTrainable: readonly (readonly number[])[] = []): Promise<void> {
  const saved = matchState(model, tensors['weights'] ?? [], 'trainable weights');
  const best = tensors['best'] ?? [];
  if (best.length > 0) matchState(model, best, 'best weights', true);
  const opt = tensors['optimizer'] ?? [];
  if (opt.length > 0) {
    if (model.optimizer === undefined) throw new CheckpointMismatchError('the model is not compiled');
    checkOptimizer(model, opt, extraTrainable);
  }
  for (const w of stateWeights(model)) {
    const t = saved.get(w.originalName);
    if (t === undefined) continue; // matchState found every one
    const value = tensorOf(t);
    w.write(value);
    value.dispose();
  }
  if (opt.length > 0 && model.optimizer !== undefined) {
    await model.optimizer.setWeights(opt.map((t) => ({ name: t.name, tensor: tensorOf(t) })));
    adamPowersAsTrained(model.optimizer);
  }
}

/** β^(t+1) as Adam computes it while training: t float32 multiplications by β, starting from β. */
function runningPower(beta: number, steps: number): number {
  const b = Math.fround(beta);
  let acc = b;
  for (let i = 0; i < steps; i++) acc = Math.fround(acc * b); // a product of two float32 is exact in a double: one rounding, as float32 multiplication
  return acc;
}

/**
 * tfjs's Adam keeps β1ᵗ and β2ᵗ as running float32 products, but setWeights recomputes them with
 * pow(), which can differ in the last bit; the bias corrections then differ by ~1e-7, and training
 * that amplifies small differences (an adaptation term, a long run) drifts away from the
 * uninterrupted run. This writes the products back as training made them (tfjs internals: the
 * private accBeta1/accBeta2 variables, checked before use).
 */
function adamPowersAsTrained(optimizer: tf.Optimizer): void {
  // (not `instanceof tf.AdamOptimizer`: tfjs's Optimizer answers instanceof for any optimizer-shaped object)
  if (!(optimizer instanceof tf.AdamOptimizer) || optimizer.getClassName() !== 'Adam') return;
  const config = optimizer.getConfig();
  const accumulators: unknown[] = [optimizer['accBeta1'], optimizer['accBeta2']];
  [config['beta1'], config['beta2']].forEach((beta, i) => {
    const acc = accumulators[i];
    if (typeof beta !== 'number' || !(acc instanceof tf.Variable)) throw new CheckpointMismatchError('the optimizer is not the Adam this version of transferkit knows');
    const value = tf.scalar(runningPower(beta, optimizer.iterations));
    acc.assign(value);
    value.dispose();
  });
}

/** The early-stopping state with its best weights as tensors (the caller's BestWeights clones them). */
export function earlyStopFrom(counters: { bestLoss: number; bestEpoch: number; wait: number } | null, tensors: Readonly<Record<string, readonly RawTensor[]>>): EarlyStopState | undefined {
  if (counters === null) return undefined;
  const best = tensors['best'] ?? [];
  return { ...counters, weights: best.length === 0 ? undefined : best.map(tensorOf) };
}
