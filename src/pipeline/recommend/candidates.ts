/**
 * How sure the strategy table is: the settings of every cell the measurements could plausibly fall
 * in, not only the cell at the point estimate. When they all agree the advice is sure; when they do
 * not, recommend can check the candidates with pilot runs (./pilot.ts) before it answers.
 *
 * - Size: the size threshold is a crossing point measured at label budgets about 3× apart
 *   (bench/results/imagenet-size-threshold.md), so a budget within a factor SIZE_BAND of it could lie
 *   on either side: both rows are candidates.
 * - Similarity: the PAD is 2(1 − 2ε) with ε an error rate on n held-out images, so its standard error
 *   is 4·√(ε(1−ε)/n) (ε smoothed as (errors + 1)/(n + 2), so a perfect separation is not certain).
 *   Every column within PAD_SE_MULTIPLE standard errors of the measured PAD is a candidate.
 * - Not measured (no source images): the similar and different columns. From scratch is a candidate
 *   only at a large budget whose PAD may be in the unrelated column, never the pick (advice.ts):
 *   pretrained weights rarely lose to it (Kornblith et al. 2019; He et al. 2019).
 * Pure; the point estimate's setting comes first, the others from the least retrained to the most.
 */
import { settingText } from './setting.js';
import { UNRELATED_FROM_PAD, adviceAt, advise, fromScratchAt, similarityLevel, sizeLevel, type Advice, type AdviceInput, type SimilarityLevel, type SizeLevel } from './advice.js';

export const SIZE_BAND = 2;
export const PAD_SE_MULTIPLE = 2;

export interface PadMeasurement {
  readonly pad: number;
  readonly error: number;
  /** Held-out images of the domain classifier, both domains together. */
  readonly heldOut: number;
}

export interface Candidates {
  /** The table's cell at the measured point. */
  readonly advice: Advice;
  /** Every distinct setting the plausible cells advise, `advice` first. */
  readonly settings: readonly Advice[];
  readonly sure: boolean;
  /** Why more than one cell is plausible (empty when sure). */
  readonly why: string;
}

/** The PAD's standard error from the domain classifier's error on `heldOut` images. */
export function padStandardError(error: number, heldOut: number): number {
  const smoothed = (error * heldOut + 1) / (heldOut + 2);
  return 4 * Math.sqrt((smoothed * (1 - smoothed)) / heldOut);
}

export function candidates(labelsPerClass: number, measured: PadMeasurement | undefined, blocks: AdviceInput['blocks']): Candidates {
  const input: AdviceInput = { labelsPerClass, pad: measured?.pad, blocks };
  const advice = advise(input);
  const sizes = [...new Set<SizeLevel>([sizeLevel(labelsPerClass), sizeLevel(labelsPerClass / SIZE_BAND), sizeLevel(labelsPerClass * SIZE_BAND)])];
  let similarities: SimilarityLevel[];
  let padWhy = '';
  if (measured === undefined) {
    similarities = ['similar', 'different'];
    padWhy = 'the similarity is not measured (no source images)';
  } else {
    const se = padStandardError(measured.error, measured.heldOut);
    const span = PAD_SE_MULTIPLE * se;
    similarities = [...new Set([similarityLevel(measured.pad), similarityLevel(Math.max(0, measured.pad - span)), similarityLevel(Math.min(2, measured.pad + span))])];
    if (similarities.length > 1) padWhy = `PAD ${measured.pad.toFixed(2)} ± ${span.toFixed(2)} (${PAD_SE_MULTIPLE} standard errors) spans ${similarities.join(' and ')}`;
  }
  const sizeWhy = sizes.length > 1 ? `${labelsPerClass} labels per class is within a factor ${SIZE_BAND} of the size threshold` : '';
  const byKey = new Map<string, Advice>([[settingText(advice), advice]]);
  for (const size of sizes) {
    for (const similarity of similarities) {
      const a = adviceAt(size, similarity, input);
      if (!byKey.has(settingText(a))) byKey.set(settingText(a), a);
    }
  }
  // from scratch only ever as a candidate: at a large budget where the domains may be unrelated (advice.ts)
  let scratchWhy = '';
  if (sizes.includes('large') && similarities.includes('unrelated')) {
    const scratch = fromScratchAt('large', input);
    byKey.set(settingText(scratch), scratch);
    scratchWhy = `the domains may be unrelated (PAD >= ${UNRELATED_FROM_PAD}), where training from scratch is checked against fine-tuning`;
  }
  // the pick first, then the others from the least retrained to the most
  const retrained = (a: Advice): number => (a.fromScratch ? 3 : a.retrainedConvLayers === 'all' ? 2 : a.retrainedConvLayers === 0 ? 0 : 1);
  const settings = [advice, ...[...byKey.values()].slice(1).sort((a, b) => retrained(a) - retrained(b))];
  const sure = settings.length === 1;
  return { advice, settings, sure, why: sure ? '' : [sizeWhy, padWhy, scratchWhy].filter((w) => w !== '').join('; ') };
}
