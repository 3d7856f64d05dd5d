/**
 * The training loss: categorical cross-entropy on the softmax output, with the gradient Keras 3
 * gives it. Its value is tfjs's and Keras's (each row normalised, the true class's probability
 * clipped to [1e-7, 1 − 1e-7]), so reported losses and early stopping are as before. Its gradient
 * is not clipped: at the logits it is p − y for every sample, as when Keras 3 computes the loss from
 * the softmax's logits. With tfjs's own loss a sample whose true-class probability fell below 1e-7
 * (a logit gap above about 16) added no gradient at all, so a run whose loss spiked (a large step
 * on raw Caffe-scale inputs, every layer trainable) could stay stuck where Keras recovers: on the
 * same VGG16, batch and Adam steps Keras's loss went 2.29 → 37.5 → 2.34, tfjs's 2.29 → 14.10 and
 * stayed there, 14 of 16 samples clipped.
 *
 * How: the derivative with respect to the probabilities is −y / max(p, FLT_MIN) per sample, which
 * the softmax's own backward turns into p − y. Only a probability below FLT_MIN (a logit gap above
 * about 87, where float32 softmax has no digits left) still loses its gradient.
 */
import * as tf from '@tensorflow/tfjs';

/** Keras's clipping of the probability in the loss's value. */
export const EPSILON = 1e-7;
/** −log of a probability clipped as in the loss's value: what evaluate and the dense step add per sample. */
export function clippedNll(probability: number): number {
  return -Math.log(Math.min(Math.max(probability, EPSILON), 1 - EPSILON));
}
/** The smallest normal float32: below it the probability's reciprocal would overflow. */
export const FLT_MIN = 1.1754944e-38;

/** Per-sample loss of one-hot `yTrue` against softmax outputs `yPred` (both [batch, classes]); for `model.compile`. */
export function softmaxCrossEntropy(yTrue: tf.Tensor, yPred: tf.Tensor): tf.Tensor {
  const loss = tf.customGrad((t, p, save) => {
    if (!(t instanceof tf.Tensor) || !(p instanceof tf.Tensor) || typeof save !== 'function') throw new TypeError('softmaxCrossEntropy takes two tensors');
    save([t, p]);
    const normalised = tf.div(p, tf.sum(p, -1, true));
    const value = tf.neg(tf.sum(tf.mul(t, tf.log(tf.clipByValue(normalised, EPSILON, 1 - EPSILON))), -1));
    return {
      value,
      gradFunc: (dy, saved) => {
        const [target, probs] = saved;
        if (target === undefined || probs === undefined || Array.isArray(dy)) throw new Error('softmaxCrossEntropy: lost its saved tensors');
        return [tf.zerosLike(target), tf.mul(tf.expandDims(dy, -1), tf.neg(tf.div(target, tf.maximum(probs, FLT_MIN))))];
      },
    };
  });
  return loss(yTrue, yPred);
}
