/**
 * The lean training step of a dense head: for a trainable model that is a chain of Flatten or
 * global average pooling, Dense layers (relu or linear, softmax last) and StepDropout, as every run
 * with a frozen, cached backbone trains. Its forward and backward are written out as the few
 * TensorFlow ops they are (about 20 per step, against about 130 for tfjs-layers' `trainOnBatch`
 * and its tape), the softmax output is read once, and the loss, accuracy and the gradient at the
 * logits are computed from it in JavaScript. The optimizer step is the model's own.
 *
 * The same step as `trainOnBatch` with the stages' loss (softmax-loss.ts), to float32 rounding: the
 * same dropout masks (each StepDropout draws its own), the same loss value (the probability clipped
 * to [1e-7, 1 − 1e-7] as Keras and tfjs clip it) and the same unclipped gradient p − y. Any other
 * model (a trainable conv layer, a layer loss such as L2-SP's pull, a regularizer or constraint,
 * tfjs's own Dropout) has no dense chain and trains with `trainOnBatch`;
 * test/pipeline/train/dense-step.int.test.ts holds the two steps to the same weights.
 */
import * as tf from '@tensorflow/tfjs';
import { StepDropout } from '../model/dropout.js';
import type { BatchStep } from './batch-step.js';
import { FLT_MIN, clippedNll } from './softmax-loss.js';

type Link =
  | { readonly kind: 'flatten' | 'pool' }
  | { readonly kind: 'dense'; readonly kernel: tf.LayerVariable; readonly bias: tf.LayerVariable | undefined; readonly relu: boolean }
  | { readonly kind: 'dropout'; readonly layer: StepDropout };

const NO_EXTRAS = ['kernelRegularizer', 'biasRegularizer', 'activityRegularizer', 'kernelConstraint', 'biasConstraint'];

/** The model as a dense chain, or undefined when it is anything else. */
export function denseChain(model: tf.LayersModel): Link[] | undefined {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) return undefined;
  const links: Link[] = [];
  // the rank of the activation so far: Dense layers here take rank 2 (Keras's Dense on a rank-4
  // input maps the last axis only, which this step does not write out), pooling rank 4
  let rank = model.inputs[0]?.shape.length ?? 0;
  // one input, one output and only single-input layers: model.layers (in topological order) is the chain
  for (const layer of model.layers) {
    const kind = layer.getClassName();
    if (kind === 'InputLayer') continue;
    if (layer.losses.length > 0) return undefined;
    const dense = links.some((l) => l.kind === 'dense');
    if (kind === 'Flatten' && !dense) {
      links.push({ kind: 'flatten' });
      rank = 2;
    } else if (kind === 'GlobalAveragePooling2D' && rank === 4 && layer.getConfig()['dataFormat'] !== 'channelsFirst') {
      links.push({ kind: 'pool' });
      rank = 2;
    } else if (layer instanceof StepDropout && layer.noiseShape === undefined) links.push({ kind: 'dropout', layer });
    else if (kind === 'Dense') {
      if (rank !== 2) return undefined;
      const config = layer.getConfig();
      if (!layer.trainable || NO_EXTRAS.some((k) => config[k] !== null && config[k] !== undefined)) return undefined;
      const [kernel, bias] = layer.weights;
      if (kernel === undefined || !kernel.originalName.endsWith('/kernel') || (bias !== undefined && !bias.originalName.endsWith('/bias'))) return undefined;
      links.push({ kind: 'dense', kernel, bias, relu: config['activation'] === 'relu' });
      if (config['activation'] !== 'relu' && config['activation'] !== 'linear' && config['activation'] !== 'softmax') return undefined;
      if (config['activation'] === 'softmax' && layer !== model.layers.at(-1)) return undefined;
    } else return undefined;
  }
  const last = model.layers.at(-1);
  if (last?.getClassName() !== 'Dense' || last.getConfig()['activation'] !== 'softmax') return undefined;
  // every trainable weight is a dense link's (a trainable layer elsewhere would need the tape)
  const own = new Set(links.flatMap((l) => (l.kind === 'dense' ? [l.kernel, ...(l.bias === undefined ? [] : [l.bias])] : [])));
  if (model.trainableWeights.length !== own.size || model.trainableWeights.some((w) => !own.has(w))) return undefined;
  return links;
}

/** The lean step for `model`, or undefined when it is not a dense chain (it trains with trainOnBatch). */
export function denseStep(model: tf.LayersModel, numClasses: number): BatchStep | undefined {
  const links = denseChain(model);
  const optimizer = model.optimizer;
  if (links === undefined || optimizer === undefined) return undefined;
  const denses = links.filter((l) => l.kind === 'dense');
  return async (x, labels) => {
    const n = labels.length;
    const held: tf.Tensor[] = [];
    const hold = <T extends tf.Tensor>(t: T): T => {
      held.push(t);
      return t;
    };
    try {
      // forward: each dense layer's input, and the mask its output's gradient is multiplied by (relu, dropout)
      const inputs: tf.Tensor[] = [];
      const masks: (tf.Tensor | undefined)[] = [];
      let a = x;
      let mask: tf.Tensor | undefined;
      let logits: tf.Tensor | undefined;
      for (const link of links) {
        if (link.kind === 'flatten') a = hold(tf.reshape(a, [n, -1]));
        else if (link.kind === 'pool') a = hold(tf.mean(a, [1, 2]));
        else if (link.kind === 'dropout') {
          const ones = hold(tf.onesLike(a));
          const multiplier = hold(link.layer.call(ones, { training: true }));
          a = hold(tf.mul(a, multiplier));
          mask = mask === undefined ? multiplier : hold(tf.mul(mask, multiplier));
        } else if (link.kind === 'dense') {
          inputs.push(a);
          masks.push(mask);
          // matMul, add and relu as three ops: tfjs-node's fused matMul dispatches seven
          const product = hold(tf.matMul(a, link.kernel.read()));
          const z = link.bias === undefined ? product : hold(tf.add(product, link.bias.read()));
          a = link.relu ? hold(tf.relu(z)) : z;
          if (link === links.at(-1)) logits = z;
          // relu's gradient mask: 1 where the output is positive (sign of a non-negative tensor; tf.step dispatches eight ops)
          mask = link.relu ? hold(tf.sign(a)) : undefined;
        }
      }
      if (logits === undefined) throw new Error('dense step: the chain does not end in its softmax layer');
      const probs = await hold(tf.softmax(logits)).data();
      const { loss, accuracy, gradient } = fromProbabilities(probs, labels, numClasses);
      if (!Number.isFinite(loss)) return { loss, accuracy };
      // backward, last dense layer first
      const grads = new Map<tf.LayerVariable, tf.Tensor>();
      let d: tf.Tensor = hold(tf.tensor2d(gradient, [n, numClasses]));
      for (let i = denses.length - 1; i >= 0; i--) {
        const link = denses[i];
        const input = inputs[i];
        if (link === undefined || input === undefined) throw new Error('dense step: lost a layer input');
        grads.set(link.kernel, hold(tf.matMul(input, d, true, false)));
        if (link.bias !== undefined) grads.set(link.bias, hold(tf.sum(d, 0)));
        if (i === 0) break;
        d = hold(tf.matMul(d, link.kernel.read(), false, true));
        const m = masks[i];
        if (m !== undefined) d = hold(tf.mul(d, m));
      }
      // in the model's order of trainable weights, as trainOnBatch hands them to the optimizer
      const named: tf.NamedTensorMap = {};
      for (const w of model.trainableWeights) {
        const g = grads.get(w);
        if (g === undefined) throw new Error(`dense step: no gradient for ${w.name}`);
        const variable = w.read();
        if (!(variable instanceof tf.Variable)) throw new TypeError(`weight ${w.name} is not backed by a tf.Variable`);
        named[variable.name] = g;
      }
      optimizer.applyGradients(named);
      return { loss, accuracy };
    } finally {
      tf.dispose(held);
    }
  };
}

/**
 * Mean clipped cross-entropy, accuracy, and the gradient of the mean loss at the logits as
 * softmaxCrossEntropy gives it: (p − y) / n for every sample (clipping bounds the value only).
 */
export function fromProbabilities(probs: Float32Array | Int32Array | Uint8Array, labels: Int32Array, numClasses: number): { loss: number; accuracy: number; gradient: Float32Array } {
  const n = labels.length;
  const gradient = new Float32Array(n * numClasses);
  let lossSum = 0;
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * numClasses;
    const label = labels[i] ?? -1;
    let sum = 0;
    let best = 0;
    for (let j = 0; j < numClasses; j++) {
      const p = probs[row + j] ?? Number.NaN;
      sum += p;
      if (p > (probs[row + best] ?? Number.NaN)) best = j;
    }
    if (best === label) correct++;
    const p = probs[row + label] ?? Number.NaN;
    lossSum += clippedNll(Math.fround(p / sum));
    // softmaxCrossEntropy's gradient through the softmax: (p − y) / n, scaled down only below FLT_MIN
    const r = p / Math.max(p, FLT_MIN);
    for (let j = 0; j < numClasses; j++) gradient[row + j] = (r * ((probs[row + j] ?? Number.NaN) - (j === label ? 1 : 0))) / n;
  }
  return { loss: lossSum / n, accuracy: correct / n, gradient };
}
