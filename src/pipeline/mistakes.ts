/**
 * The most confident mistakes of an evaluation: which examples the model got wrong with the highest
 * probability on its (wrong) prediction. Kept while evaluating, at most `max`, for the run report's
 * gallery of misclassified test images.
 */

export interface Mistake {
  /** Index of the example in the evaluated set. */
  readonly index: number;
  /** True class (model output order). */
  readonly label: number;
  readonly predicted: number;
  /** The model's probability of `predicted`. */
  readonly probability: number;
}

/** How many mistakes an evaluation keeps (the report shows up to this many images). */
export const MISTAKES_KEPT = 24;

const confidence = (m: Mistake) => (Number.isFinite(m.probability) ? m.probability : -1);

export class TopMistakes {
  readonly #list: Mistake[] = [];

  constructor(private readonly max = MISTAKES_KEPT) {}

  add(m: Mistake): void {
    const p = confidence(m);
    const last = this.#list.at(-1);
    if (this.#list.length >= this.max && (last === undefined || p <= confidence(last))) return;
    // most confident first; ties keep the earlier example first
    const at = this.#list.findIndex((x) => confidence(x) < p);
    this.#list.splice(at === -1 ? this.#list.length : at, 0, m);
    if (this.#list.length > this.max) this.#list.pop();
  }

  get list(): readonly Mistake[] {
    return [...this.#list];
  }
}
