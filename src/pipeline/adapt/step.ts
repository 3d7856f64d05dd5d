/**
 * One optimizer step on an arbitrary scalar loss over chosen tfjs-layers weights: the manual loop
 * that DANN, CORAL and FixMatch need, since their losses mix labelled source and unlabelled target
 * batches in ways `model.trainOnBatch` cannot express. Frozen layers stay frozen: only weights in
 * `trainableWeights` are handed to the optimizer.
 */
import * as tf from '@tensorflow/tfjs';
import { TrainingError } from '../../errors.js';

type WeightOwner = Pick<tf.LayersModel, 'trainableWeights'>;

/**
 * The tf.Variables behind the trainable weights of `owners` (models or layers), without duplicates
 * (a layer shared by two models appears once), in order of first appearance.
 */
export function trainableVariables(...owners: readonly WeightOwner[]): tf.Variable[] {
  const seen = new Set<number>();
  const out: tf.Variable[] = [];
  for (const owner of owners) {
    for (const weight of owner.trainableWeights) {
      // LayerVariable.read() returns its backing tf.Variable itself (typed as Tensor).
      const variable = weight.read();
      if (!(variable instanceof tf.Variable)) throw new TypeError(`weight ${weight.name} is not backed by a tf.Variable`);
      if (seen.has(variable.id)) continue;
      seen.add(variable.id);
      out.push(variable);
    }
  }
  return out;
}

/**
 * Computes `loss()` on the tape, applies `optimizer`'s update to `variables`, and returns the loss
 * value. Every intermediate tensor is disposed. Throws TrainingError for a non-finite loss (before
 * any later step could make it worse; the update of this step has already been applied).
 */
export async function minimizeStep(optimizer: tf.Optimizer, loss: () => tf.Scalar, variables: readonly tf.Variable[]): Promise<number> {
  if (variables.length === 0) throw new RangeError('minimizeStep needs at least one trainable variable');
  const cost = optimizer.minimize(loss, true, [...variables]);
  if (cost === null) throw new Error('optimizer.minimize returned no cost');
  try {
    const [value = Number.NaN] = await cost.data();
    if (!Number.isFinite(value)) throw new TrainingError(`Loss became ${value}; lower the learning rate or the adaptation weight`);
    return value;
  } finally {
    cost.dispose();
  }
}
