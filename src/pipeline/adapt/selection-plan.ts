/**
 * Which signal chooses the kept epoch (and drives early stopping), and how far that choice falls
 * from the best epoch by target test accuracy (measured for the report only).
 *
 * - Target labels given: the target validation loss (`target_val_loss`): labelled target data is
 *   the best judge there is.
 * - No target labels: the source validation loss (`source_val_loss`). The mean target prediction
 *   entropy is the other label-free signal computed every epoch, but self-training lowers it by
 *   construction (it trains the model to be confident on target images) and a collapse onto few
 *   classes lowers it too, so it would pick late, possibly degenerate epochs. The source validation
 *   loss is blind to the target but cannot be gamed by the adaptation term. Both are reported: each
 *   signal's own gap is logged (`selection_gap_<signal>`), so the bench can compare them.
 */
import { chooseEpoch, selectEpoch, type SelectionSignal } from './selection.js';
import type { AdaptEpochMetrics } from './epoch-metrics.js';

export type SignalName = 'source_val_loss' | 'target_val_loss' | 'target_entropy';

export function selectionSignal(targetLabels: boolean): SignalName {
  return targetLabels ? 'target_val_loss' : 'source_val_loss';
}

function signal(epochs: readonly AdaptEpochMetrics[], name: SignalName): SelectionSignal {
  return { name, values: epochs.map((m) => (name === 'target_entropy' ? m.target_entropy : m.val_loss)), better: 'lower' };
}

/**
 * Final selection metrics: `selected_epoch` (the epoch whose weights the model holds),
 * `oracle_best_epoch` (highest target test accuracy), `selection_gap` (accuracy at the oracle's epoch
 * minus at the selected one, ≥ 0), and for every label-free signal its own choice and gap.
 */
export function selectionMetrics(epochs: readonly AdaptEpochMetrics[], selectedEpoch: number, used: SignalName): Record<string, number> {
  const accuracies = epochs.map((m) => m.target_test_accuracy);
  const oracle = chooseEpoch({ name: 'target_test_accuracy', values: accuracies, better: 'higher' });
  const at = (e: number): number => accuracies[e] ?? Number.NaN;
  const out: Record<string, number> = {
    selected_epoch: selectedEpoch,
    oracle_best_epoch: oracle,
    selection_gap: at(oracle) - at(selectedEpoch),
  };
  const names: SignalName[] = used === 'target_val_loss' ? ['target_val_loss', 'target_entropy'] : ['source_val_loss', 'target_entropy'];
  for (const name of names) {
    const s = signal(epochs, name);
    if (!s.values.some(Number.isFinite)) continue;
    const report = selectEpoch(s, accuracies);
    out[`selected_epoch_${name}`] = report.chosenEpoch;
    out[`selection_gap_${name}`] = report.gap;
  }
  return out;
}
