/**
 * The run's closing numbers and words: test metrics of the source model and of the from-scratch
 * baseline next to the transfer's, wall times, the distance to an accuracy goal, and what each
 * stage did. Pure functions of the phases' results.
 */
import type { EpochMetrics } from './train/fit.js';
import type { PhaseResult } from './train/stages.js';

export interface RunSummary {
  readonly target: PhaseResult;
  readonly source?: PhaseResult | undefined;
  readonly scratch?: PhaseResult | undefined;
  /** 0 = no goal. */
  readonly goalAccuracy: number;
  readonly datasetName: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** The stage's epoch with the lowest validation loss, or undefined when it has none (NaN losses never win). */
function stageBest(r: PhaseResult, stage: number): EpochMetrics | undefined {
  return r.epochs.filter((e) => e.stage === stage).reduce<EpochMetrics | undefined>((best, e) => (best === undefined || e.val_loss < best.val_loss ? e : best), undefined);
}

export function finalMetrics(s: RunSummary): Record<string, number> {
  const m: Record<string, number> = { transfer_seconds: s.target.seconds };
  if (s.source !== undefined) {
    m['source_test_accuracy'] = s.source.test.accuracy;
    m['source_test_loss'] = s.source.test.loss;
    m['source_seconds'] = s.source.seconds;
  }
  if (s.scratch !== undefined) {
    m['scratch_test_accuracy'] = s.scratch.test.accuracy;
    m['scratch_test_loss'] = s.scratch.test.loss;
    m['scratch_seconds'] = s.scratch.seconds;
    m['scratch_best_epoch'] = s.scratch.bestEpoch;
    m['transfer_minus_scratch_accuracy'] = s.target.test.accuracy - s.scratch.test.accuracy;
  }
  if (s.goalAccuracy > 0) m['goal_gap'] = s.goalAccuracy - s.target.test.accuracy;
  s.target.stages.forEach((st) => {
    m[`stage${st.stage}_epochs`] = st.epochsRun;
    m[`stage${st.stage}_best_epoch`] = st.bestEpoch;
    const best = stageBest(s.target, st.stage);
    if (best !== undefined) m[`stage${st.stage}_best_val_loss`] = best.val_loss;
  });
  return m;
}

function describeStages(r: PhaseResult): string {
  let first = 0;
  return r.stages
    .map((st) => {
      const range = `epochs ${first + 1}-${first + st.epochsRun}`;
      first += st.epochsRun;
      const start = first - st.epochsRun;
      const trains = st.trainable.length === 0 ? 'the head' : `the head and ${st.trainable.join(', ')}`;
      const loss = (e: EpochMetrics | undefined) => (e === undefined ? undefined : e.val_loss.toFixed(4));
      const held = loss(r.epochs.find((e) => e.epoch === st.bestEpoch));
      const own = stageBest(r, st.stage);
      const outcome =
        st.bestEpoch < start && own !== undefined && held !== undefined
          ? `its best val_loss ${loss(own)} (epoch ${own.epoch + 1}) did not beat ${held}, so the model keeps epoch ${st.bestEpoch + 1}'s weights`
          : `best epoch ${st.bestEpoch + 1}${held === undefined ? '' : ` (val_loss ${held})`}`;
      return `stage ${st.stage}: ${range} trained ${trains}; ${outcome}${st.stoppedEarly ? ', stopped early' : ''}`;
    })
    .join('; ');
}

export function finalTags(s: RunSummary): Record<string, string> {
  const saved = [s.source, s.target, s.scratch].reduce((sum, r) => sum + (r?.cacheSecondsSaved ?? 0), 0);
  const tags: Record<string, string> = {
    ...s.target.cacheTags,
    'transferkit.activation_cache_seconds_saved': saved.toFixed(1),
    'transferkit.stage_summary': describeStages(s.target),
  };
  if (s.scratch !== undefined) {
    const diff = (s.target.test.accuracy - s.scratch.test.accuracy) * 100;
    tags['transferkit.transfer_vs_scratch'] =
      `transfer ${pct(s.target.test.accuracy)} in ${s.target.seconds.toFixed(1)} s vs from scratch ${pct(s.scratch.test.accuracy)} in ${s.scratch.seconds.toFixed(1)} s ` +
      `(${diff >= 0 ? '+' : ''}${diff.toFixed(2)} points)`;
  }
  if (s.goalAccuracy > 0) {
    const gap = (s.goalAccuracy - s.target.test.accuracy) * 100;
    tags['transferkit.goal'] =
      `test accuracy ${pct(s.target.test.accuracy)} on ${s.datasetName} is ` +
      (gap > 0 ? `${gap.toFixed(2)} points below` : `${(-gap).toFixed(2)} points above`) +
      ` the ${pct(s.goalAccuracy)} goal`;
  }
  return tags;
}
