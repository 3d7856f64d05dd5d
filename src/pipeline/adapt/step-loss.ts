/**
 * The loss of one adaptation step, per method, on a StepBatch (./batches.ts):
 *   loss = CE(labelled rows) + term (+ the layers' own losses, e.g. l2sp_weight's),   w = adaptation_weight (1 = the method's default strength)
 * - none: no term (source-only, or plain training on the target's labels).
 * - dann: the discriminator's cross-entropy on source (0) vs target (1) features, through the
 *   gradient reversal layer of strength λ = 0.1·w·dannLambda(progress) (./grl.ts, ./dann-head.ts):
 *   the discriminator descends it, the feature extractor ascends it.
 * - coral: 100·w · CORAL(source features, target features) (./coral.ts).
 * - pseudo_label: w · FixMatch loss (./pseudo-label.ts): targets whose weak-view prediction (after
 *   distribution alignment, ./class-marginal.ts) is ≥ pseudo_label_threshold are trained to give
 *   that class on their strong view.
 * The default strengths (STRENGTH) were chosen on the Fashion-MNIST → noise-shifted benchmark task
 * (bench/adapt.ts; the other shifts were not used to choose them). DANN's paper uses λ up to 1 with
 * SGD and an annealed learning rate; with Adam at 1e-3, λ ≥ 0.3 made the adversarial game diverge
 * here (the feature extractor outran the discriminator, domain loss > 3). Deep CORAL's paper sets λ
 * so that the CORAL and class losses end up comparable; on `fc1` features that takes ~100.
 * Features are the output of the head's first dense layer (`fc1`, after its ReLU): the layer every
 * freeze plan trains, so alignment can move the features even when every conv layer is frozen.
 * Also returns the step's diagnostics as numbers (read once, after the optimizer step).
 */
import * as tf from '@tensorflow/tfjs';
import { layerOutputIn } from '../model/graph.js';
import { coralLoss } from './coral.js';
import { dannDomainLoss, domainAccuracy } from './dann-head.js';
import { selectConfident, maskedCrossEntropy } from './pseudo-label.js';
import type { AdaptationMethod } from './adapt-params.js';
import type { StepBatch } from './batches.js';

/** Per-method multipliers of adaptation_weight (see the module comment). */
export const STRENGTH = { dann: 0.1, coral: 100, pseudo_label: 1 } as const;

/** The head layer whose output is aligned (see build.ts `headLayers`). */
export const FEATURE_LAYER = 'fc1';
/** Keras's probability clip, as in ../evaluate.ts. */
const EPSILON = 1e-7;

/** The classifier (or its trainable suffix) with a second output: the features at FEATURE_LAYER. Shares the classifier's layers. */
export function featureView(model: tf.LayersModel): tf.LayersModel {
  const features = layerOutputIn(model, FEATURE_LAYER);
  const probs = model.outputs[0];
  if (probs === undefined) throw new Error('the model has no output');
  return tf.model({ inputs: model.inputs, outputs: [features, probs], name: `${model.name}_with_features` });
}

export interface StepSettings {
  readonly method: AdaptationMethod;
  readonly weight: number;
  /** DANN: the reversal strength of this step (already scaled by the weight). */
  readonly lambda: number;
  readonly threshold: number;
  readonly discriminator: tf.LayersModel | undefined;
}

/** Diagnostics of one step; NaN where the method has none. */
export interface StepReport {
  readonly classLoss: number;
  readonly accuracy: number;
  readonly domainLoss: number;
  readonly domainAccuracy: number;
  readonly coral: number;
  /** Unlabelled rows whose pseudo-label was selected, and how many of those were right. */
  readonly selected: number;
  readonly selectedCorrect: number;
}

const REPORT_KEYS = ['classLoss', 'accuracy', 'domainLoss', 'domainAccuracy', 'coral', 'selected', 'selectedCorrect'] as const;

function split(view: tf.LayersModel, x: tf.Tensor): { features: tf.Tensor2D; probs: tf.Tensor2D } {
  const out = view.apply(x, { training: true });
  if (!Array.isArray(out) || out.length !== 2) throw new Error('the feature view did not return [features, probabilities]');
  const [features, probs] = out;
  if (!(features instanceof tf.Tensor) || !(probs instanceof tf.Tensor)) throw new Error('the feature view returned symbolic tensors');
  const n = x.shape[0];
  return { features: tf.reshape(features, [n, -1]), probs: tf.reshape(probs, [n, -1]) };
}

/**
 * Pseudo-labelling: the class probabilities of the weak view in inference mode (no dropout), computed
 * before the optimizer's loss function so this forward pass is not taped (they are constants).
 */
export function weakPredictions(view: tf.LayersModel, batch: StepBatch): tf.Tensor2D | undefined {
  const weak = batch.weak;
  if (weak === undefined) return undefined;
  return tf.tidy(() => {
    const out = view.apply(weak, { training: false });
    const probs = Array.isArray(out) ? out[1] : undefined;
    if (!(probs instanceof tf.Tensor)) throw new Error('the feature view did not return probabilities');
    return tf.reshape<tf.Rank.R2>(probs, [weak.shape[0], -1]);
  });
}

export interface StepLoss {
  /** The loss function for `minimizeStep` (./step.ts); keeps the step's diagnostics. */
  readonly loss: () => tf.Scalar;
  /** Reads the diagnostics the last call kept. */
  report(): Promise<StepReport>;
  /** Frees what the last call kept (call in a finally). */
  release(): void;
}

export function stepLoss(view: tf.LayersModel, batch: StepBatch, s: StepSettings, weakProbs?: tf.Tensor2D): StepLoss {
  let kept: tf.Tensor | undefined;
  const loss = (): tf.Scalar => {
    const { features, probs } = split(view, batch.x);
    const n = batch.x.shape[0];
    const nan = tf.scalar(Number.NaN);
    const labelled = tf.slice(probs, [0, 0], [batch.labelled, -1]);
    const picked = tf.sum(tf.mul(labelled, batch.y), 1);
    const classLoss = tf.neg(tf.mean<tf.Scalar>(tf.log(tf.clipByValue(picked, EPSILON, 1 - EPSILON))));
    const accuracy = tf.mean<tf.Scalar>(tf.cast(tf.equal(tf.argMax(labelled, 1), tf.argMax(batch.y, 1)), 'float32'));
    const sourceFeatures = tf.slice(features, [0, 0], [batch.sourceRows, -1]);
    const targetFeatures = tf.slice(features, [batch.sourceRows, 0], [n - batch.sourceRows, -1]);
    let term: tf.Scalar = tf.scalar(0);
    const report: Record<(typeof REPORT_KEYS)[number], tf.Scalar> = {
      classLoss, accuracy, domainLoss: nan, domainAccuracy: nan, coral: nan, selected: nan, selectedCorrect: nan,
    };
    if (s.method === 'dann') {
      if (s.discriminator === undefined) throw new Error('DANN needs a domain discriminator');
      term = dannDomainLoss(s.discriminator, sourceFeatures, targetFeatures, s.lambda);
      report.domainLoss = term;
      report.domainAccuracy = domainAccuracy(s.discriminator, sourceFeatures, targetFeatures);
    } else if (s.method === 'coral') {
      report.coral = coralLoss(sourceFeatures, targetFeatures);
      term = tf.mul(report.coral, STRENGTH.coral * s.weight);
    } else if (s.method === 'pseudo_label') {
      if (weakProbs === undefined) throw new Error('pseudo-labelling needs the weak view\'s predictions');
      const selection = selectConfident(weakProbs, s.threshold);
      const strong = tf.slice(probs, [batch.labelled, 0], [n - batch.labelled, -1]);
      term = tf.mul(maskedCrossEntropy(selection, strong, 'probabilities'), STRENGTH.pseudo_label * s.weight);
      report.selected = tf.sum(selection.mask);
      const right = tf.cast(tf.equal(selection.labels, tf.tensor1d(batch.truth, 'int32')), 'float32');
      report.selectedCorrect = tf.sum(tf.mul(selection.mask, right));
    }
    kept?.dispose();
    kept = tf.keep(tf.stack(REPORT_KEYS.map((k) => report[k])));
    // the layers' own losses (e.g. L2-SP's pull toward the starting weights), as trainOnBatch adds them
    const layerLosses = view.calculateLosses();
    return layerLosses.length === 0 ? tf.add(classLoss, term) : tf.addN([classLoss, term, ...layerLosses]);
  };
  const release = (): void => {
    kept?.dispose();
    kept = undefined;
  };
  const report = async (): Promise<StepReport> => {
    if (kept === undefined) throw new Error('the step loss was never computed');
    const values = await kept.data();
    release();
    const at = (k: (typeof REPORT_KEYS)[number]): number => values[REPORT_KEYS.indexOf(k)] ?? Number.NaN;
    return { classLoss: at('classLoss'), accuracy: at('accuracy'), domainLoss: at('domainLoss'), domainAccuracy: at('domainAccuracy'), coral: at('coral'), selected: at('selected'), selectedCorrect: at('selectedCorrect') };
  };
  return { loss, report, release };
}
