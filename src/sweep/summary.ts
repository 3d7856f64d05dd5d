/** The sweep's summary table, one row per point, as CSV and as Markdown. */
import type { Dimension } from './grid.js';
import type { PointResult } from './runs.js';

export const SUMMARY_COLUMNS = ['status', 'val_accuracy', 'test_accuracy', 'train_seconds', 'run_id', 'skipped', 'error'] as const;

const num = (v: number | undefined, digits?: number) => (v === undefined ? '' : digits === undefined ? String(v) : v.toFixed(digits));

function cells(r: PointResult, dims: readonly Dimension[], digits?: number): string[] {
  return [
    ...dims.map((d) => r.point[d.name] ?? ''),
    r.status,
    num(r.valAccuracy, digits),
    num(r.testAccuracy, digits),
    num(r.trainSeconds, digits === undefined ? undefined : 1),
    r.runId,
    r.skipped ? 'yes' : 'no',
    r.error ?? '',
  ];
}

const csvCell = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

/** Full-precision numbers, so the table agrees exactly with the runs' metrics. */
export function summaryCsv(results: readonly PointResult[], dims: readonly Dimension[]): string {
  const header = [...dims.map((d) => d.name), ...SUMMARY_COLUMNS];
  return [header, ...results.map((r) => cells(r, dims))].map((row) => row.map(csvCell).join(',')).join('\n') + '\n';
}

const mdCell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

export function summaryMarkdown(results: readonly PointResult[], dims: readonly Dimension[], best: PointResult | undefined): string {
  const header = [...dims.map((d) => d.name), ...SUMMARY_COLUMNS];
  const rows = results.map((r) => cells(r, dims, 4).map(mdCell));
  const lines = [
    '# Sweep summary',
    '',
    best === undefined
      ? 'No point finished.'
      : `Best point by validation accuracy (at each run's best epoch): **${best.key}** (val ${num(best.valAccuracy, 4)}, test ${num(best.testAccuracy, 4)}, run \`${best.runId}\`).`,
    '',
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}
