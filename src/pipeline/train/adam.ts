/**
 * The stages' optimizer: tfjs's Adam (same moments, bias correction and epsilon), stepped over all
 * trainable variables at once, with a learning-rate multiplier per variable.
 *
 * - Flat: the gradients are joined into one vector, the moments are one vector each, and the
 *   update is split back into the variables. tfjs's Adam dispatches about 15 TensorFlow ops per
 *   variable per step, each a separate eager call; this dispatches about 12 in all, plus a reshape
 *   and a subtraction per variable (bench/profile-head.ts counts them).
 * - Discriminative learning rates (`backbone_lr_factor`): a smaller step for the pretrained
 *   backbone than for the new head. Scaling the gradients would not do it: Adam divides them by
 *   their own running magnitude. A multiplier of 0 leaves the variable exactly as it is.
 *
 * Its state has Adam's layout (step count, then each variable's first moments, then its second
 * moments), so checkpoints written with tfjs's Adam restore into it and back.
 */
import * as tf from '@tensorflow/tfjs';

/** tfjs-core's NamedTensor (not re-exported by @tensorflow/tfjs). */
type NamedTensor = { name: string; tensor: tf.Tensor };

/** The variables a step updates, in the order of its first gradients (later steps must match). */
interface Layout {
  readonly names: readonly string[];
  readonly sizes: readonly number[];
  readonly shapes: readonly (readonly number[])[];
}

export class FlatAdam extends tf.Optimizer {
  static get className(): string {
    return 'FlatAdam';
  }

  #layout: Layout | undefined;
  #first: tf.Variable | undefined;
  #second: tf.Variable | undefined;
  /** Moments given by setWeights before the first step, per variable in Adam's layout. */
  #restored: { first: tf.Tensor[]; second: tf.Tensor[]; names: string[] } | undefined;
  /** What the last getWeights made (the step count, the moments split per variable): freed at the next call, step or dispose. */
  #views: tf.Tensor[] = [];
  readonly #epsilon: number;

  constructor(
    private readonly learningRate: number,
    /** The multiplier of a variable's learning rate, by tf.Variable name. */
    private readonly multiplier: (variableName: string) => number = () => 1,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
  ) {
    super();
    this.#epsilon = tf.backend().epsilon();
  }

  override applyGradients(gradients: tf.NamedTensorMap | NamedTensor[]): void {
    const entries = Array.isArray(gradients) ? gradients.map((g) => [g.name, g.tensor] as const) : Object.entries(gradients);
    const values = entries.map(([name]) => {
      const value = tf.engine().registeredVariables[name];
      if (value === undefined) throw new Error(`FlatAdam: no variable named ${name}`);
      return value;
    });
    this.#dropViews();
    const layout = this.#layoutFor(entries.map(([name]) => name), values.map((v) => v.shape));
    // bias corrections after this step: 1 − β^(t+1) where t steps are done
    const step = this.iterations + 1;
    const correction1 = 1 - this.beta1 ** step;
    const correction2 = 1 - this.beta2 ** step;
    tf.tidy(() => {
      const flat = entries.length === 1 ? asVector(entries[0]?.[1] ?? tf.zeros([0])) : tf.concat(entries.map(([, g]) => asVector(g)));
      const [first, second] = this.#moments(layout);
      const m = tf.add(tf.mul(first, this.beta1), tf.mul(flat, 1 - this.beta1));
      const v = tf.add(tf.mul(second, this.beta2), tf.mul(tf.square(flat), 1 - this.beta2));
      first.assign(m);
      second.assign(v);
      const update = tf.mul(tf.div(m, tf.add(tf.sqrt(tf.div(v, correction2)), this.#epsilon)), this.learningRate / correction1);
      const parts = entries.length === 1 ? [update] : tf.split(update, [...layout.sizes]);
      values.forEach((value, i) => {
        const part = parts[i];
        const rate = this.multiplier(layout.names[i] ?? '');
        if (part === undefined || rate === 0) return;
        const shaped = value.rank === 1 ? part : tf.reshape(part, value.shape);
        value.assign(tf.sub(value, rate === 1 ? shaped : tf.mul(shaped, rate)));
      });
    });
    this.incrementIterations();
  }

  /** The layout of the first step; a later step with other variables is a programming error. */
  #layoutFor(names: readonly string[], shapes: readonly (readonly number[])[]): Layout {
    if (this.#layout === undefined) {
      this.#layout = { names, shapes, sizes: shapes.map((s) => s.reduce((a, b) => a * b, 1)) };
      return this.#layout;
    }
    const same = this.#layout.names.length === names.length && names.every((n, i) => n === this.#layout?.names[i]);
    if (!same) throw new Error(`FlatAdam: a step over [${names.join(', ')}] after steps over [${this.#layout.names.join(', ')}]`);
    return this.#layout;
  }

  /** The moment vectors, created on the first step (zeros, or the state setWeights gave). */
  #moments(layout: Layout): [tf.Variable, tf.Variable] {
    if (this.#first === undefined || this.#second === undefined) {
      const total = layout.sizes.reduce((a, b) => a + b, 0);
      const restored = this.#restored;
      if (restored !== undefined) {
        const sizes = restored.first.map((t) => t.size);
        if (sizes.length !== layout.sizes.length || sizes.some((s, i) => s !== layout.sizes[i])) {
          throw new Error(`FlatAdam: the restored state holds ${sizes.length} variables (${sizes.join(', ')} values), the step ${layout.sizes.length} (${layout.sizes.join(', ')})`);
        }
      }
      const join = (ts: readonly tf.Tensor[] | undefined) =>
        tf.keep(ts === undefined ? tf.zeros([total]).variable(false) : (ts.length === 1 ? tf.reshape(ts[0] ?? tf.zeros([0]), [-1]) : tf.concat(ts.map((t) => tf.reshape(t, [-1])))).variable(false));
      this.#first = join(restored?.first);
      this.#second = join(restored?.second);
      this.#dropRestored();
    }
    return [this.#first, this.#second];
  }

  #dropRestored(): void {
    if (this.#restored !== undefined) tf.dispose([...this.#restored.first, ...this.#restored.second]);
    this.#restored = undefined;
  }

  #dropViews(): void {
    tf.dispose(this.#views);
    this.#views = [];
  }

  /** Valid until the next getWeights, step or dispose: callers copy what they keep (checkpoints read them at once). */
  override async getWeights(): Promise<NamedTensor[]> {
    this.#dropViews();
    const iterations = await this.saveIterations();
    this.#views.push(iterations.tensor);
    const restored = this.#restored;
    if (restored !== undefined) {
      const names = restored.names;
      return [iterations, ...[...restored.first, ...restored.second].map((tensor, i) => ({ name: names[i] ?? String(i), tensor }))];
    }
    const layout = this.#layout;
    if (layout === undefined || this.#first === undefined || this.#second === undefined) return [iterations];
    // per variable, as tfjs's Adam lays them out (the caller reads them; they are not the live state)
    const split = (flat: tf.Tensor, suffix: string) =>
      tf.tidy(() => tf.split(flat, [...layout.sizes]).map((part, i) => tf.reshape(part, [...(layout.shapes[i] ?? [part.size])]))).map((tensor, i) => {
        this.#views.push(tensor);
        return { name: `${layout.names[i] ?? i}/${suffix}`, tensor };
      });
    return [iterations, ...split(this.#first, 'm'), ...split(this.#second, 'v')];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weights);
    if (rest.length % 2 !== 0) throw new Error(`FlatAdam: ${rest.length} moment tensors, expected a first and a second moment per variable`);
    const half = rest.length / 2;
    tf.dispose([this.#first, this.#second].filter((v) => v !== undefined));
    this.#first = undefined;
    this.#second = undefined;
    this.#dropRestored();
    this.#restored = { first: rest.slice(0, half).map((w) => tf.clone(w.tensor)), second: rest.slice(half).map((w) => tf.clone(w.tensor)), names: rest.map((w) => w.name) };
  }

  override dispose(): void {
    this.#dropViews();
    tf.dispose([this.#first, this.#second].filter((v) => v !== undefined));
    this.#first = undefined;
    this.#second = undefined;
    this.#dropRestored();
    super.dispose();
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, beta1: this.beta1, beta2: this.beta2, epsilon: this.#epsilon };
  }
}

/** A tensor as a vector (each reshape is a dispatched op: vectors are passed as they are). */
const asVector = (t: tf.Tensor): tf.Tensor => (t.rank === 1 ? t : tf.reshape(t, [-1]));

/** The name of the tf.Variable behind a layer weight: the key of its gradient in an optimizer step. */
function variableName(w: tf.LayerVariable): string {
  const variable = w.read();
  if (!(variable instanceof tf.Variable)) throw new TypeError(`weight ${w.name} is not backed by a tf.Variable`);
  return variable.name;
}

/**
 * The stage's optimizer: FlatAdam; with `backboneLrFactor` ≠ 1 its backbone variables (the
 * classifier's backbone layers, shared by a cache split's suffix) step at that fraction.
 */
export function stageOptimizer(backboneWeights: () => readonly tf.LayerVariable[], learningRate: number, backboneLrFactor: number): tf.Optimizer {
  if (backboneLrFactor === 1) return new FlatAdam(learningRate);
  const backbone = new Set(backboneWeights().map((w) => variableName(w)));
  return new FlatAdam(learningRate, (name) => (backbone.has(name) ? backboneLrFactor : 1));
}
