/**
 * Confident-target selection (pseudo-labelling) and the FixMatch consistency loss (Sohn et al. 2020).
 *
 * An unlabelled target example is selected when its highest class probability is ≥ τ (compared in
 * float32, so a probability of exactly τ is selected); its pseudo-label is that class. Optionally at
 * most `perClassCap` examples per predicted class are kept (the most confident; ties go to the lower
 * index). The cap counters confirmation-bias collapse: early in adaptation the model is most confident
 * on a few "easy" target classes, and uncapped selection fills the pseudo-labelled set with them, which
 * pushes the model further towards those classes until it predicts one class everywhere. A cap of
 * about ⌈batch·ρ/C⌉ (ρ the expected selection rate, C the classes) keeps each batch's pseudo-labels
 * roughly class-balanced.
 *
 * Distribution alignment (ReMixMatch, Berthelot et al. 2020): before selection, each weak-view row is
 * multiplied by prior / marginal (the class distribution the unlabelled data should have, over the
 * running mean of the model's predictions on it) and renormalised. A model that over-predicts its
 * easy classes then gets fewer confident rows of them and more of the classes it neglects.
 *
 * FixMatch: pseudo-labels come from the weakly augmented view; the strongly augmented view is trained
 * to predict them: ℓ = (1/n) Σᵢ 1[maxᵢ ≥ τ] · CE(ŷᵢ, strongᵢ), normalised by the whole unlabelled
 * batch n (not by the count selected), so an empty selection gives exactly 0. Weak-view
 * probabilities are constants here (argmax and ≥ pass no gradient); compute them outside the
 * optimizer's loss function so their forward pass is not taped.
 */
import * as tf from '@tensorflow/tfjs';

/** Keras's probability clip, as in ../evaluate.ts. */
const EPSILON = 1e-7;

export interface SelectOptions {
  /** Keep at most this many selected examples per predicted class (a positive integer). */
  readonly perClassCap?: number;
}

/** Tensors the caller disposes (or creates inside tf.tidy). */
export interface PseudoLabels {
  /** 1 for a selected example, 0 otherwise (float32, length n). */
  readonly mask: tf.Tensor1D;
  /** argmax class per example, selected or not (int32, length n). */
  readonly labels: tf.Tensor1D;
  /** Highest class probability per example (float32, length n). */
  readonly confidence: tf.Tensor1D;
  /** Selected fraction of the batch: Σ mask / n (0 for an empty batch). */
  readonly rate: tf.Scalar;
}

function checkProbs(probs: tf.Tensor, what: string): [number, number] {
  if (probs.rank !== 2) throw new RangeError(`${what} must be a [batch, classes] matrix, got shape [${probs.shape.join(', ')}]`);
  const [n = 0, c = 0] = probs.shape;
  if (c < 1) throw new RangeError(`${what} has no classes`);
  return [n, c];
}

/** Selects the examples whose top probability in `probs` ([n, classes], rows sum to 1) is ≥ `threshold`. */
export function selectConfident(probs: tf.Tensor2D, threshold: number, options: SelectOptions = {}): PseudoLabels {
  const [n] = checkProbs(probs, 'probabilities');
  if (!Number.isFinite(threshold) || threshold < 0 || threshold > 1) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
  const cap = options.perClassCap;
  if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 1)) throw new RangeError(`perClassCap must be a positive integer, got ${cap}`);
  return tf.tidy(() => {
    const confidence = tf.max<tf.Tensor1D>(probs, 1);
    const labels = tf.cast(tf.argMax<tf.Tensor1D>(probs, 1), 'int32');
    let mask = tf.cast(tf.greaterEqual<tf.Tensor1D>(confidence, tf.scalar(threshold, 'float32')), 'float32');
    if (cap !== undefined && n > 0) mask = applyCap(mask, confidence, labels, cap);
    const rate = n === 0 ? tf.scalar(0) : tf.div<tf.Scalar>(tf.sum(mask), n);
    return { mask, labels, confidence, rate };
  });
}

/**
 * Keeps a selected example when fewer than `cap` selected examples of its class rank ahead of it
 * (higher confidence, or equal confidence and a lower index). O(n²) in the batch, as tensor ops.
 */
function applyCap(selected: tf.Tensor1D, confidence: tf.Tensor1D, labels: tf.Tensor1D, cap: number): tf.Tensor1D {
  const n = selected.shape[0];
  const column = (t: tf.Tensor1D) => tf.reshape(t, [n, 1]);
  const row = (t: tf.Tensor1D) => tf.reshape(t, [1, n]);
  const sameClass = tf.equal(column(labels), row(labels));
  const index = tf.range(0, n, 1, 'int32');
  const ahead = tf.logicalOr(
    tf.greater(row(confidence), column(confidence)),
    tf.logicalAnd(tf.equal(row(confidence), column(confidence)), tf.less(row(index), column(index))),
  );
  const competitors = tf.mul(tf.cast(tf.logicalAnd(sameClass, ahead), 'float32'), row(selected));
  const rank = tf.sum(competitors, 1);
  return tf.mul<tf.Tensor1D>(selected, tf.cast(tf.less(rank, cap), 'float32'));
}

/** Rows of `probs` times prior / marginal, renormalised to sum to 1 (both vectors of length classes, positive). */
export function alignDistribution(probs: tf.Tensor2D, prior: tf.Tensor1D, marginal: tf.Tensor1D): tf.Tensor2D {
  const [, c] = checkProbs(probs, 'probabilities');
  if (prior.shape[0] !== c || marginal.shape[0] !== c) throw new RangeError(`prior and marginal must have ${c} classes, got ${prior.shape[0]} and ${marginal.shape[0]}`);
  return tf.tidy(() => {
    const scaled = tf.mul(probs, tf.reshape(tf.div(prior, tf.maximum(marginal, EPSILON)), [1, c]));
    return tf.div(scaled, tf.maximum(tf.sum(scaled, 1, true), EPSILON));
  });
}

export type OutputKind = 'logits' | 'probabilities';

/**
 * (1/n) Σᵢ maskᵢ · CE(labelsᵢ, outputᵢ): cross-entropy of `output` ([n, classes], logits or
 * probabilities) against the pseudo-labels, averaged over the whole batch. 0 when nothing is selected.
 */
export function maskedCrossEntropy(selection: Pick<PseudoLabels, 'mask' | 'labels'>, output: tf.Tensor2D, kind: OutputKind = 'logits'): tf.Scalar {
  const [n, c] = checkProbs(output, 'output');
  if (selection.mask.shape[0] !== n || selection.labels.shape[0] !== n) {
    throw new RangeError(`the selection covers ${selection.mask.shape[0]} examples but the output has ${n}`);
  }
  return tf.tidy(() => {
    if (n === 0) return tf.scalar(0);
    const logProbs = kind === 'logits' ? tf.logSoftmax(output) : tf.log(tf.clipByValue(output, EPSILON, 1 - EPSILON));
    const picked = tf.sum(tf.mul(logProbs, tf.oneHot(selection.labels, c)), 1);
    // where, not mul: 0 · (−∞) would be NaN if an unselected row had a zero probability.
    const perExample = tf.where(tf.greater(selection.mask, 0), tf.neg(picked), tf.zerosLike(picked));
    return tf.div(tf.sum(perExample), n);
  });
}

export interface FixMatchOptions extends SelectOptions {
  /** What the strong view's output is; default 'logits'. */
  readonly strongKind?: OutputKind;
}

/** FixMatch's unlabelled loss from weak-view probabilities and the strong view's output (same batch). */
export function fixMatchLoss(weakProbs: tf.Tensor2D, strongOutput: tf.Tensor2D, threshold: number, options: FixMatchOptions = {}): tf.Scalar {
  const [n, c] = checkProbs(weakProbs, 'weak-view probabilities');
  const [m, k] = checkProbs(strongOutput, 'strong-view output');
  if (n !== m || c !== k) throw new RangeError(`weak [${n}, ${c}] and strong [${m}, ${k}] views differ in shape`);
  return tf.tidy(() => {
    const selection = options.perClassCap === undefined ? selectConfident(weakProbs, threshold) : selectConfident(weakProbs, threshold, { perClassCap: options.perClassCap });
    return maskedCrossEntropy(selection, strongOutput, options.strongKind ?? 'logits');
  });
}
