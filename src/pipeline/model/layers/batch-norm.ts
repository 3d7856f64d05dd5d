/**
 * BatchNormalization that behaves as Keras 3's does when frozen. tfjs-layers' own layer looks only at
 * the call's `training` flag, and `fit`/`trainOnBatch` pass `training: true` to every layer, so a
 * "frozen" tfjs BN still normalises with batch statistics and keeps updating its moving mean and
 * variance (shared/notes/backbones.md). Keras runs a BN with `trainable = false` in inference mode:
 * moving statistics, never updated. This layer does the same, so the cached path (the frozen prefix
 * runs through `predict`) and the uncached path compute the same thing.
 *
 * A trainable BN trains as Keras's does: batch statistics (biased variance) in training, moving
 * averages updated with `momentum`, moving statistics at inference. Weights are in Keras's order
 * (gamma, beta, moving_mean, moving_variance), and the layer serializes as a plain
 * `BatchNormalization`, so saved models load in Python Keras. Registering it under that class name
 * also makes tfjs load saved models with this layer.
 */
import * as tf from '@tensorflow/tfjs';

export interface BatchNormArgs {
  readonly name: string;
  readonly epsilon?: number;
  readonly momentum?: number;
  /** Read back from saved configs. */
  readonly trainable?: boolean;
}

function one(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  const x = Array.isArray(inputs) ? inputs[0] : inputs;
  if (x === undefined) throw new Error('BatchNormalization: no input');
  return x;
}

export class FreezableBatchNorm extends tf.layers.Layer {
  static className = 'BatchNormalization';
  readonly epsilon: number;
  readonly momentum: number;
  #gamma: tf.LayerVariable | undefined;
  #beta: tf.LayerVariable | undefined;
  #movingMean: tf.LayerVariable | undefined;
  #movingVariance: tf.LayerVariable | undefined;

  constructor(args: BatchNormArgs) {
    super({ name: args.name, trainable: args.trainable ?? true });
    this.epsilon = args.epsilon ?? 1e-3;
    this.momentum = args.momentum ?? 0.99;
    this.supportsMasking = true;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = Array.isArray(inputShape[0]) ? inputShape[0] : inputShape;
    const channels = shape.at(-1);
    if (typeof channels !== 'number') throw new Error(`BatchNormalization ${this.name}: the channel dimension must be known`);
    const dim = [channels];
    this.#gamma = this.addWeight('gamma', dim, 'float32', tf.initializers.ones(), undefined, true);
    this.#beta = this.addWeight('beta', dim, 'float32', tf.initializers.zeros(), undefined, true);
    this.#movingMean = this.addWeight('moving_mean', dim, 'float32', tf.initializers.zeros(), undefined, false);
    this.#movingVariance = this.addWeight('moving_variance', dim, 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const gamma = this.#gamma;
    const beta = this.#beta;
    const movingMean = this.#movingMean;
    const movingVariance = this.#movingVariance;
    if (gamma === undefined || beta === undefined || movingMean === undefined || movingVariance === undefined) {
      throw new Error(`BatchNormalization ${this.name} called before it was built`);
    }
    const x = one(inputs);
    // Keras: trainable = false means inference mode, whatever `training` says.
    const training = kwargs['training'] === true && this.trainable;
    return tf.tidy(() => {
      if (!training) return tf.batchNorm(x, movingMean.read(), movingVariance.read(), beta.read(), gamma.read(), this.epsilon);
      const axes = x.shape.map((_, i) => i).slice(0, -1);
      const { mean, variance } = tf.moments(x, axes);
      const y = tf.batchNorm(x, mean, variance, beta.read(), gamma.read(), this.epsilon);
      const decay = 1 - this.momentum;
      // Side effects outside the loss, as Keras's updates: the optimizer never sees them.
      movingMean.write(tf.sub(movingMean.read(), tf.mul(tf.sub(movingMean.read(), mean), decay)));
      movingVariance.write(tf.sub(movingVariance.read(), tf.mul(tf.sub(movingVariance.read(), variance), decay)));
      return y;
    });
  }

  /** The moving mean and variance (Keras's weights 2 and 3): the statistics inference normalises with. */
  movingStatistics(): { readonly mean: tf.LayerVariable; readonly variance: tf.LayerVariable } {
    if (this.#movingMean === undefined || this.#movingVariance === undefined) throw new Error(`BatchNormalization ${this.name} is not built`);
    return { mean: this.#movingMean, variance: this.#movingVariance };
  }

  /** Replaces the moving statistics (AdaBN, ../adabn.ts); gamma and beta are untouched. */
  setMovingStatistics(mean: tf.Tensor1D, variance: tf.Tensor1D): void {
    const { mean: m, variance: v } = this.movingStatistics();
    if (mean.shape[0] !== m.shape[0] || variance.shape[0] !== v.shape[0]) {
      throw new Error(`BatchNormalization ${this.name}: statistics of ${mean.shape[0]}/${variance.shape[0]} channels for ${m.shape[0]}`);
    }
    m.write(mean);
    v.write(variance);
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      axis: -1,
      momentum: this.momentum,
      epsilon: this.epsilon,
      center: true,
      scale: true,
      betaInitializer: { className: 'Zeros', config: {} },
      gammaInitializer: { className: 'Ones', config: {} },
      movingMeanInitializer: { className: 'Zeros', config: {} },
      movingVarianceInitializer: { className: 'Ones', config: {} },
      betaRegularizer: null,
      gammaRegularizer: null,
      betaConstraint: null,
      gammaConstraint: null,
    };
  }
}
tf.serialization.registerClass(FreezableBatchNorm);
