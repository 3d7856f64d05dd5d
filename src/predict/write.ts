/**
 * The predictions file: CSV (one row per input: input, true class when known, then class and
 * probability for each of the top k) or JSON ({predictions, skipped}). Written whole or not at all.
 */
import { writeFileAtomic } from '../fs-atomic.js';
import type { Item, Skipped } from './inputs.js';

export interface Row {
  readonly item: Item;
  readonly top: ReadonlyArray<{ readonly class: string; readonly probability: number }>;
}

function csvCell(value: string): string {
  return /[",\n\r]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

export function predictionsCsv(rows: readonly Row[], k: number, withLabels: boolean): string {
  const header = ['input', ...(withLabels ? ['true_class'] : []), ...Array.from({ length: k }, (_, i) => [`class_${i + 1}`, `probability_${i + 1}`]).flat()];
  const lines = rows.map((r) => [
    r.item.id,
    ...(withLabels ? [r.item.label ?? ''] : []),
    ...r.top.flatMap((t) => [t.class, t.probability.toPrecision(6)]),
  ].map(csvCell).join(','));
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

export function predictionsJson(rows: readonly Row[], skipped: readonly Skipped[]): string {
  return `${JSON.stringify({
    predictions: rows.map((r) => ({ input: r.item.id, ...(r.item.label === undefined ? {} : { true_class: r.item.label }), top: r.top })),
    skipped: skipped.map((s) => ({ input: s.id, reason: s.reason, detail: s.detail })),
  }, null, 2)}\n`;
}

export async function writePredictions(path: string, format: 'csv' | 'json', rows: readonly Row[], skipped: readonly Skipped[], k: number): Promise<void> {
  const withLabels = rows.some((r) => r.item.label !== undefined);
  await writeFileAtomic(path, format === 'json' ? predictionsJson(rows, skipped) : predictionsCsv(rows, k, withLabels));
}
