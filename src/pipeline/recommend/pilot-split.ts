/**
 * The pilots' images (./pilot.ts). The target's labelled budget (the plan's training and validation
 * images) is split once, class by class and seeded, into held-out images that score every pilot and
 * an inner training / validation split that every pilot trains on and early-stops (or picks its
 * ridge λ) on. Each pilot's plan gets these three sets in place of its own: the dataset's test set
 * takes no part, because choosing a setting by it would leak its labels into the recommendation
 * (and evaluating it costs as much as the pilot's training).
 */
import { InternalError, ParamError } from '../../errors.js';
import { labelAt } from '../data/checked.js';
import { deriveSeed, mulberry32, shuffleInPlace, subsetImageSet } from '../data/sample.js';
import type { ImageSet } from '../data/types.js';
import type { RunPlan } from '../plan/index.js';
import type { PreparedRun } from '../prepare-run.js';

export interface PilotSplit {
  readonly train: ImageSet;
  readonly validation: ImageSet;
  /** Scores the pilots: never trained or validated on. */
  readonly heldOut: ImageSet;
}

export interface PilotSplitOptions {
  /** Share of each class held out for scoring, in (0, 1); at least 1 image per class. */
  readonly holdOutFraction: number;
  /** The candidates' validation_fraction, applied to what is left of each class. */
  readonly validationFraction: number;
  readonly seed: number;
  /** The budget's class names, by label (labels are 0..k-1). */
  readonly classNames: readonly string[];
}

/** Per-class shuffles of the split: streams of their own, apart from balancedSplit's (0..) and epochs' (0x10000..). */
const PILOT_STREAM = 0x70000;

const heldOutOf = (n: number, fraction: number) => Math.max(1, Math.round(n * fraction));
/** As balancedSplit holds out validation images: round(n × fraction), at least 1 when the fraction is above 0. */
const validationOf = (n: number, fraction: number) => (fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0);

/** How many of a class's `n` images each part gets. */
function parts(n: number, o: PilotSplitOptions): { heldOut: number; validation: number; train: number } {
  const heldOut = heldOutOf(n, o.holdOutFraction);
  const validation = validationOf(n - heldOut, o.validationFraction);
  return { heldOut, validation, train: n - heldOut - validation };
}

/** The fewest images per class that leave at least one to train on. */
export function fewestForPilot(o: PilotSplitOptions): number {
  let n = 1;
  while (parts(n, o).train < 1) n++;
  return n;
}

/** The plan's training and validation images, one after the other: the labelled budget the pilots split. */
export function labelledBudget(plan: RunPlan): ImageSet {
  const train = setOf(plan, 'train').set;
  const validation = setOf(plan, 'validation').set;
  if (train.height !== validation.height || train.width !== validation.width || train.channels !== validation.channels) {
    throw new InternalError(`the training images are ${train.height}×${train.width}×${train.channels} but the validation images ${validation.height}×${validation.width}×${validation.channels}`);
  }
  const images = new Uint8Array(train.images.length + validation.images.length);
  images.set(train.images);
  images.set(validation.images, train.images.length);
  const labels = new Int32Array(train.count + validation.count);
  labels.set(train.labels);
  labels.set(validation.labels, train.count);
  return { images, labels, count: train.count + validation.count, height: train.height, width: train.width, channels: train.channels };
}

/**
 * Splits `budget` per class: shuffled with a seed derived from (seed, class), the first images are
 * held out, the next are the inner validation, the rest train. Each part keeps the budget's order.
 * A class too small to leave an image to train on is a ParamError naming the smallest budget that works.
 */
export function splitForPilots(budget: ImageSet, o: PilotSplitOptions): PilotSplit {
  if (!(o.holdOutFraction > 0 && o.holdOutFraction < 1)) throw new InternalError(`the pilots' hold-out fraction must be in (0, 1), got ${o.holdOutFraction}`);
  if (!(o.validationFraction >= 0 && o.validationFraction < 1)) throw new InternalError(`validation_fraction must be in [0, 1), got ${o.validationFraction}`);
  const byClass: number[][] = o.classNames.map(() => []);
  for (let i = 0; i < budget.count; i++) {
    const label = labelAt(budget.labels, i, o.classNames.length, 'the pilots\' labelled budget');
    byClass[label]?.push(i);
  }
  const fewest = fewestForPilot(o);
  const heldOut: number[] = [];
  const validation: number[] = [];
  const train: number[] = [];
  byClass.forEach((indices, c) => {
    const n = parts(indices.length, o);
    if (n.train < 1) {
      throw new ParamError(
        'samples_per_class',
        `Class ${c} (${o.classNames[c] ?? '?'}) has ${indices.length} labelled image${indices.length === 1 ? '' : 's'}, too few for a pilot: it holds out ${Math.round(o.holdOutFraction * 100)}% of each class (at least 1) to score on, ` +
          `then validation_fraction=${o.validationFraction} of the rest, and needs at least 1 left to train on; that takes at least ${fewest} labelled images per class (samples_per_class)`,
      );
    }
    const order = shuffleInPlace(indices.slice(), mulberry32(deriveSeed(o.seed, PILOT_STREAM + c)));
    heldOut.push(...order.slice(0, n.heldOut));
    validation.push(...order.slice(n.heldOut, n.heldOut + n.validation));
    train.push(...order.slice(n.heldOut + n.validation));
  });
  const subset = (indices: number[]) => subsetImageSet(budget, indices.sort((a, b) => a - b));
  return { train: subset(train), validation: subset(validation), heldOut: subset(heldOut) };
}

function setOf(plan: RunPlan, name: 'train' | 'validation' | 'test') {
  const spec = plan.target.sets[name];
  if (spec === undefined) throw new InternalError(`the run's plan has no ${name} set`);
  return spec;
}

/**
 * `prepared` with the pilot's sets in place of the plan's (each set's other settings, such as the
 * training set's augmentation, kept) and no report.html: the plan's report would describe the
 * dataset's own split and cut its mistake images out of the dataset's test set.
 */
export function withPilotSets(prepared: PreparedRun, split: PilotSplit): PreparedRun {
  const { plan } = prepared;
  const names = Object.keys(plan.target.sets).sort().join(',');
  if (names !== 'test,train,validation') throw new InternalError(`a pilot replaces the train, validation and test sets, but the plan's target phase has ${names}`);
  if (plan.source !== undefined || plan.scratch !== undefined || plan.target.alsoEvaluate !== undefined || plan.target.adabn !== undefined) {
    throw new InternalError('a pilot plan must have a single target phase of supervised sets (no source model, baseline, extra evaluations or AdaBN)');
  }
  const sets = {
    train: { ...setOf(plan, 'train'), set: split.train },
    validation: { ...setOf(plan, 'validation'), set: split.validation },
    test: { ...setOf(plan, 'test'), set: split.heldOut, label: "the pilot's held-out images" },
  };
  return { ...prepared, plan: { ...plan, target: { ...plan.target, sets }, writeReport: () => Promise.resolve(undefined) } };
}
