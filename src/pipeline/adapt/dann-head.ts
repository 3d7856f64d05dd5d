/**
 * DANN's domain head (Ganin et al. 2016): a small discriminator (Dense 64 ReLU → Dense 1, the logit
 * of P(target)) that tells source features (label 0) from target features (label 1), trained through
 * the gradient reversal layer so the same loss makes the feature extractor below domain-invariant.
 * One loss, minimised over extractor + discriminator weights together (./step.ts):
 *   the discriminator descends the domain loss; the extractor, behind the GRL, ascends it (× λ).
 * The loss is the binary cross-entropy computed from the logit, so its gradient is σ(z) − y for every
 * example: a confident discriminator still tells the extractor which way the domains differ. From a
 * clipped probability (Keras's 1e-7) it would give a saturated example no gradient at all, the same
 * failure ../train/softmax-loss.ts fixes for the class loss.
 */
import * as tf from '@tensorflow/tfjs';
import { deriveSeed } from '../data/sample.js';
import { gradientReversal } from './grl.js';

export interface DiscriminatorOptions {
  /** Seeds the weight initializers. */
  readonly seed: number;
  /** Hidden units; 64 by default. */
  readonly hiddenUnits?: number;
  /** Layer name prefix; `domain` by default. */
  readonly name?: string;
}

/** A discriminator over flat features of size `featureSize`: [n, featureSize] → [n, 1], the logit of P(target). */
export function buildDomainDiscriminator(featureSize: number, options: DiscriminatorOptions): tf.LayersModel {
  const { seed, hiddenUnits = 64, name = 'domain' } = options;
  if (!Number.isSafeInteger(featureSize) || featureSize < 1) throw new RangeError(`featureSize must be a positive integer, got ${featureSize}`);
  if (!Number.isSafeInteger(hiddenUnits) || hiddenUnits < 1) throw new RangeError(`hiddenUnits must be a positive integer, got ${hiddenUnits}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  const input = tf.input({ shape: [featureSize], name: `${name}_input` });
  const hidden = tf.layers.dense({
    units: hiddenUnits,
    activation: 'relu',
    kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 0) }),
    name: `${name}_hidden`,
  });
  const output = tf.layers.dense({
    units: 1,
    activation: 'linear',
    kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(seed, 1) }),
    name: `${name}_output`,
  });
  const out = output.apply(hidden.apply(input));
  if (!(out instanceof tf.SymbolicTensor)) throw new Error('a dense layer applied to a symbolic input returned no symbolic tensor');
  return tf.model({ inputs: input, outputs: out, name: `${name}_discriminator` });
}

function flat(x: tf.Tensor, what: string): tf.Tensor2D {
  if (x.rank < 2) throw new RangeError(`${what} features need a batch axis, got shape [${x.shape.join(', ')}]`);
  const [n = 0] = x.shape;
  return tf.reshape(x, [n, n === 0 ? 0 : x.size / n]);
}

/** Source rows then target rows, flattened, and their domain labels (0 source, 1 target). */
function domainBatch(source: tf.Tensor, target: tf.Tensor): { features: tf.Tensor2D; labels: tf.Tensor2D } {
  const s = flat(source, 'source');
  const t = flat(target, 'target');
  if (s.shape[1] !== t.shape[1]) throw new RangeError(`source and target features differ in size: ${s.shape[1]} vs ${t.shape[1]}`);
  if (s.shape[0] + t.shape[0] === 0) throw new RangeError('the domain loss needs at least one source or target example');
  return {
    features: tf.concat2d([s, t], 0),
    labels: tf.concat2d([tf.zeros([s.shape[0], 1]), tf.ones([t.shape[0], 1])], 0),
  };
}

/** The logit of P(target) per row. */
function domainLogits(discriminator: tf.LayersModel, features: tf.Tensor2D, training: boolean): tf.Tensor2D {
  const out = discriminator.apply(features, { training });
  if (!(out instanceof tf.Tensor) || out.rank !== 2) throw new Error('the discriminator did not return one [batch, 1] tensor');
  return tf.reshape(out, [features.shape[0], 1]);
}

/**
 * Mean binary cross-entropy (from the logit) of the discriminator on source (0) and target (1) features, with the
 * features passed through a GRL of strength `lambda` (see ./grl.ts `dannLambda`). Call it inside the
 * loss function given to `optimizer.minimize` (./step.ts `minimizeStep`) over the extractor's and the
 * discriminator's variables.
 */
export function dannDomainLoss(discriminator: tf.LayersModel, source: tf.Tensor, target: tf.Tensor, lambda: number): tf.Scalar {
  return tf.tidy(() => {
    const { features, labels } = domainBatch(source, target);
    const logits = domainLogits(discriminator, gradientReversal(features, lambda), true);
    return tf.losses.sigmoidCrossEntropy(labels, logits, undefined, 0, tf.Reduction.MEAN);
  });
}

/**
 * The discriminator's accuracy on source vs target features (no GRL, inference mode): ≈0.5 means the
 * domains are indistinguishable to it. Proxy A-distance = 2·(2·accuracy − 1) when measured on held-out
 * features with a freshly trained discriminator.
 */
export function domainAccuracy(discriminator: tf.LayersModel, source: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const { features, labels } = domainBatch(source, target);
    const predicted = tf.cast(tf.greaterEqual(domainLogits(discriminator, features, false), 0), 'float32');
    return tf.mean<tf.Scalar>(tf.cast(tf.equal(predicted, labels), 'float32'));
  });
}
