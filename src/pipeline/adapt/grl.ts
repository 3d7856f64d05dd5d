/**
 * Gradient reversal (Ganin & Lempitsky 2015, DANN): identity on the forward pass, −λ·dy on the
 * backward pass, so a feature extractor below it is trained to *increase* the loss of a domain
 * discriminator above it. Also the DANN schedule for λ and a tfjs-layers Layer wrapper.
 *
 * Checked on tfjs-node 4.22 (test/pipeline/adapt/grl.test.ts): a custom Layer whose `call` uses a
 * `tf.customGrad` op gets that custom gradient through `model.trainOnBatch`, `model.fit` and
 * `optimizer.minimize(() => loss, true, vars)` alike. All three differentiate eagerly on tfjs's tape
 * and run the layer's `call` on concrete tensors, so the GRL works inside a tf.LayersModel. The manual
 * `minimize` loop of ./step.ts is still the better fit for DANN: its class loss covers only the
 * labelled source half of a batch, which `trainOnBatch` cannot mask.
 */
import * as tf from '@tensorflow/tfjs';

function checkLambda(lambda: number): void {
  if (!Number.isFinite(lambda)) throw new RangeError(`gradient reversal λ must be a finite number, got ${lambda}`);
}

/**
 * A copy of `x` whose gradient is `−lambda · dy`. λ is fixed for this call; build the op again (it is
 * cheap) when the schedule moves on. λ = 0 blocks the gradient; a negative λ passes it unreversed.
 */
export function gradientReversal<T extends tf.Tensor>(x: T, lambda: number): T {
  checkLambda(lambda);
  // The op is made per call and closes over `x`; `x` is also its input, so the tape routes the
  // returned gradient to `x`.
  const op = tf.customGrad<T>(() => ({ value: tf.clone(x), gradFunc: (dy: T) => tf.mul(dy, -lambda) }));
  return op(x);
}

/**
 * DANN's ramp λ_p = 2 / (1 + exp(−γ·p)) − 1 for training progress p ∈ [0, 1] (steps done / total
 * steps): 0 at the start, when the discriminator's signal is noise, rising to ≈1 (0.9999 for γ = 10).
 */
export function dannLambda(progress: number, gamma = 10): number {
  if (!Number.isFinite(progress) || progress < 0 || progress > 1) throw new RangeError(`progress must be in [0, 1], got ${progress}`);
  if (!Number.isFinite(gamma) || gamma <= 0) throw new RangeError(`gamma must be a positive number, got ${gamma}`);
  return 2 / (1 + Math.exp(-gamma * progress)) - 1;
}

type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

/**
 * The GRL as a layer, for a tf.LayersModel. `lambda` is read on every forward pass; the training
 * loop sets it each step (e.g. `layer.lambda = dannLambda(step / steps)`). Serializable.
 */
export class GradientReversal extends tf.layers.Layer {
  static readonly className = 'GradientReversal';
  #lambda: number;

  constructor(args: LayerArgs & { readonly lambda?: number } = {}) {
    const { lambda = 1, ...layerArgs } = args;
    super(layerArgs);
    checkLambda(lambda);
    this.#lambda = lambda;
  }

  get lambda(): number {
    return this.#lambda;
  }
  set lambda(value: number) {
    checkLambda(value);
    this.#lambda = value;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (x === undefined || (Array.isArray(inputs) && inputs.length !== 1)) throw new RangeError('GradientReversal takes exactly one input');
    return gradientReversal(x, this.#lambda);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), lambda: this.#lambda };
  }
}
tf.serialization.registerClass(GradientReversal);
