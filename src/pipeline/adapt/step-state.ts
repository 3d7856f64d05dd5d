/**
 * What an adaptation step keeps besides the classifier's weights and the optimizer's state, so a
 * checkpoint can continue it exactly: the DANN discriminator's weights (by position: its layer names
 * are numbered per process) and the pseudo-labels' running class marginal. Both go to the
 * checkpoint's `step` tensor group (../checkpoint/tensors.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { CheckpointMismatchError } from '../checkpoint/tensors.js';
import type { RawTensor } from '../checkpoint/format.js';
import type { ClassMarginal } from './class-marginal.js';

const MARGINAL = 'class_marginal';
const discriminatorName = (i: number) => `discriminator/${i}`;

async function raw(name: string, t: tf.Tensor): Promise<RawTensor> {
  return { name, shape: t.shape, dtype: 'float32', values: Float32Array.from(await t.data()) };
}

export async function stepState(discriminator: tf.LayersModel | undefined, marginal: ClassMarginal | undefined): Promise<RawTensor[]> {
  const weights = await Promise.all((discriminator?.weights ?? []).map((w, i) => raw(discriminatorName(i), w.read())));
  return marginal === undefined ? weights : [...weights, await raw(MARGINAL, marginal.marginal)];
}

/** Writes a checkpoint's step state back; a state that does not fit (another method, another build) is refused. */
export function restoreStepState(state: readonly RawTensor[], discriminator: tf.LayersModel | undefined, marginal: ClassMarginal | undefined): void {
  const byName = new Map(state.map((t) => [t.name, t]));
  const weights = discriminator?.weights ?? [];
  const expected = weights.length + (marginal === undefined ? 0 : 1);
  if (state.length !== expected) throw new CheckpointMismatchError(`the checkpoint's adaptation state has ${state.length} tensors, this adaptation step ${expected}`);
  weights.forEach((w, i) => {
    const t = byName.get(discriminatorName(i));
    if (t === undefined || t.shape.join('×') !== w.shape.join('×')) throw new CheckpointMismatchError(`the checkpoint's discriminator weight ${i} does not fit (${w.shape.join('×')})`);
    const value = tf.tensor(t.values, [...t.shape], 'float32');
    w.write(value);
    value.dispose();
  });
  if (marginal === undefined) return;
  const saved = byName.get(MARGINAL);
  if (saved === undefined || !(saved.values instanceof Float32Array)) throw new CheckpointMismatchError('the checkpoint has no class marginal');
  marginal.restore(saved.values);
}
