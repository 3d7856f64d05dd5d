/**
 * The closing numbers and words of an adaptation run: the source test accuracy next to the target's
 * (`test_accuracy`, the run's main number, logged by tracking from RunFinished.test), the label-free
 * selection against the oracle epoch, the data sizes, and one sentence saying what happened.
 */
import type { Evaluation } from '../evaluate.js';
import type { TrainParams } from '../params/train.js';
import type { AdaptData } from './adapt-data.js';
import type { SignalName } from './selection-plan.js';
import type { PhaseResult } from '../train/stages.js';

export interface AdaptSummary {
  readonly params: Pick<TrainParams, 'adaptation' | 'target_shift' | 'goal_accuracy'>;
  readonly data: AdaptData;
  readonly train: Pick<PhaseResult, 'epochs' | 'stoppedEarly'>;
  readonly selection: Readonly<Record<string, number>>;
  readonly signal: SignalName;
  readonly targetTest: Evaluation;
  readonly sourceTest: Evaluation | undefined;
  readonly seconds: number;
}

const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(2)}%`);

export function adaptMetrics(s: AdaptSummary): Record<string, number> {
  const m: Record<string, number> = {
    ...s.selection,
    adaptation_seconds: s.seconds,
    epochs_run: s.train.epochs.length,
    target_labelled_images: s.data.targetTrain.count + s.data.targetValidation.count,
    target_unlabeled_images: s.data.targetPool.count,
  };
  if (s.sourceTest !== undefined) {
    m['source_test_accuracy'] = s.sourceTest.accuracy;
    m['source_test_loss'] = s.sourceTest.loss;
    m['source_labelled_images'] = (s.data.sourceSets?.train.count ?? 0) + (s.data.sourceSets?.validation.count ?? 0);
  }
  if (s.params.goal_accuracy > 0) m['goal_gap'] = s.params.goal_accuracy - s.targetTest.accuracy;
  return m;
}

export function adaptTags(s: AdaptSummary): Record<string, string> {
  const { data } = s;
  const shift = s.params.target_shift === 'none' ? '' : ` (${s.params.target_shift} shift)`;
  const domains = `${data.source.name} → ${data.target.name}${shift}, classes ${data.classNames.join(', ')}` +
    `${data.shared ? '' : ' (target classes differ from the source\'s: the source images are not used)'}${data.halves ? '; training split halved between the domains' : ''}`;
  const sel = s.selection;
  const gap = sel['selection_gap'];
  const summary =
    `${s.params.adaptation}: target test ${pct(s.targetTest.accuracy)}${s.sourceTest === undefined ? '' : `, source test ${pct(s.sourceTest.accuracy)}`}; ` +
    `kept epoch ${(sel['selected_epoch'] ?? 0) + 1} by ${s.signal}, best epoch by target test accuracy ${(sel['oracle_best_epoch'] ?? 0) + 1} ` +
    `(${gap === undefined ? 'n/a' : `${(gap * 100).toFixed(2)} points`} better)${s.train.stoppedEarly ? ', stopped early' : ''}`;
  return {
    'transferkit.adaptation_domains': domains,
    'transferkit.adaptation_summary': summary,
  };
}
