/** One human line per epoch: how the epoch event reads in text output (src/output/event-line.ts). */
import type { EpochContext } from '../pipeline/events.js';
import type { EpochMetrics } from '../pipeline/train/fit.js';

const fmt = (n: number, digits = 4) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

export function progressLine(m: EpochMetrics, context: EpochContext): string {
  const { maxEpochs, phase } = context;
  const width = String(maxEpochs).length;
  const label = phase === 'target' ? (m.stage > 1 ? `stage ${m.stage} ` : '') : `${phase} `;
  return (
    `${label}epoch ${String(m.epoch + 1).padStart(width)}/${maxEpochs}  ` +
    `loss ${fmt(m.loss)}  acc ${fmt(m.accuracy)}  val_loss ${fmt(m.val_loss)}  val_acc ${fmt(m.val_accuracy)}  ` +
    `${m.epoch_seconds.toFixed(1)}s`
  );
}
