/**
 * Deep CORAL (Sun & Saenko 2016): aligns the second-order statistics of source and target features.
 *   loss = ‖C_s − C_t‖²_F / (4 d²),  C = (X − 1μ)ᵀ(X − 1μ) / (n − 1)  (unbiased covariance)
 * where X is an n×d batch of features and μ its column means. It is invariant to a mean shift
 * between domains (covariances are centred) and differentiable in both inputs. Features of rank > 2
 * (conv maps) are flattened per example.
 */
import * as tf from '@tensorflow/tfjs';

function asMatrix(x: tf.Tensor, what: string): tf.Tensor2D {
  if (x.rank < 2) throw new RangeError(`${what} features must have a batch axis and a feature axis, got shape [${x.shape.join(', ')}]`);
  const [n = 0] = x.shape;
  if (n < 2) throw new RangeError(`${what} batch needs at least 2 examples for an unbiased covariance, got ${n}`);
  return tf.reshape(x, [n, x.size / n]);
}

/** Unbiased covariance of the rows of an n×d matrix (n ≥ 2): a d×d matrix. */
export function covariance(x: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const m = asMatrix(x, 'the');
    const n = m.shape[0];
    const centred = tf.sub(m, tf.mean(m, 0, true));
    return tf.div(tf.matMul(centred, centred, true, false), n - 1);
  });
}

/** The CORAL loss between a source and a target feature batch (same feature size; sizes may differ). */
export function coralLoss(source: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const s = asMatrix(source, 'source');
    const t = asMatrix(target, 'target');
    const d = s.shape[1];
    if (t.shape[1] !== d) throw new RangeError(`source and target features differ in size: ${d} vs ${t.shape[1]}`);
    const diff = tf.sub(covariance(s), covariance(t));
    return tf.div(tf.sum(tf.square(diff)), 4 * d * d);
  });
}
