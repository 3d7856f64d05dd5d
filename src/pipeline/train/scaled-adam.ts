/**
 * Adam with a learning-rate multiplier per variable: discriminative learning rates (a smaller step
 * for the pretrained backbone than for the new head, `backbone_lr_factor`). Scaling the gradients
 * would not do it: Adam divides them by their own running magnitude. The update is tfjs's Adam's
 * (same moments, bias correction and epsilon) with `learningRate × multiplier(variable)`; a
 * multiplier of 0 leaves the variable exactly as it is. Its state has Adam's layout (step count,
 * then first moments, then second moments), so checkpoints save and restore it as they do Adam's.
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs-core's NamedTensor (not re-exported by @tensorflow/tfjs). */
type NamedTensor = { name: string; tensor: tf.Tensor };

interface Slot {
  readonly originalName: string;
  readonly variable: tf.Variable;
}

export class ScaledAdam extends tf.Optimizer {
  static get className(): string {
    return 'ScaledAdam';
  }

  #first: Slot[] = [];
  #second: Slot[] = [];
  readonly #epsilon: number;

  constructor(
    private readonly learningRate: number,
    /** The multiplier of a variable's learning rate, by tf.Variable name. */
    private readonly multiplier: (variableName: string) => number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    super();
    this.#epsilon = tf.backend().epsilon();
  }

  override applyGradients(gradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries = Array.isArray(gradients) ? gradients.map((g) => [g.name, g.tensor] as const) : Object.entries(gradients);
    // bias corrections before this step: β^(t+1) where t steps are done (tfjs's Adam keeps them as variables)
    const step = this.iterations + 1;
    const correction1 = 1 - this.beta1 ** step;
    const correction2 = 1 - this.beta2 ** step;
    tf.tidy(() => {
      entries.forEach(([name, gradient], i) => {
        const value = tf.engine().registeredVariables[name];
        if (value === undefined) throw new Error(`ScaledAdam: no variable named ${name}`);
        const first = (this.#first[i] ??= { originalName: `${name}/m`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) }).variable;
        const second = (this.#second[i] ??= { originalName: `${name}/v`, variable: tf.tidy(() => tf.zerosLike(value).variable(false)) }).variable;
        const m = tf.add(tf.mul(first, this.beta1), tf.mul(gradient, 1 - this.beta1));
        const v = tf.add(tf.mul(second, this.beta2), tf.mul(tf.square(gradient), 1 - this.beta2));
        first.assign(m);
        second.assign(v);
        const rate = this.learningRate * this.multiplier(name);
        if (rate === 0) return;
        const update = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), this.#epsilon));
        value.assign(tf.sub(value, tf.mul(update, rate)));
      });
    });
    this.incrementIterations();
  }

  override async getWeights(): Promise<NamedTensor[]> {
    return [await this.saveIterations(), ...[...this.#first, ...this.#second].map((s) => ({ name: s.originalName, tensor: s.variable }))];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weights);
    const half = rest.length / 2;
    const slot = (w: NamedTensor): Slot => ({ originalName: w.name, variable: w.tensor.variable(false) });
    tf.dispose([...this.#first, ...this.#second].map((s) => s.variable));
    this.#first = rest.slice(0, half).map(slot);
    this.#second = rest.slice(half).map(slot);
  }

  override dispose(): void {
    tf.dispose([...this.#first, ...this.#second].map((s) => s.variable));
    this.#first = [];
    this.#second = [];
    super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.#epsilon };
  }
}

/** The name of the tf.Variable behind a layer weight: the key of its gradient in an optimizer step. */
function variableName(w: tf.LayerVariable): string {
  const variable = w.read();
  if (!(variable instanceof tf.Variable)) throw new TypeError(`weight ${w.name} is not backed by a tf.Variable`);
  return variable.name;
}

/**
 * The stage's optimizer: Adam, or with `backboneLrFactor` ≠ 1 a ScaledAdam whose backbone variables
 * (the classifier's backbone layers, shared by a cache split's suffix) step at that fraction.
 */
export function stageOptimizer(backboneWeights: () => readonly tf.LayerVariable[], learningRate: number, backboneLrFactor: number): tf.Optimizer {
  if (backboneLrFactor === 1) return tf.train.adam(learningRate);
  const backbone = new Set(backboneWeights().map((w) => variableName(w)));
  return new ScaledAdam(learningRate, (name) => (backbone.has(name) ? backboneLrFactor : 1));
}
