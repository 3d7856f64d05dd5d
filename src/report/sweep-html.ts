/**
 * The sweep parent's report.html: every point (its parameters, status and accuracies), the best point
 * by validation accuracy, and accuracy against each swept parameter (sweep/chart.ts's SVG, once per
 * parameter on the x axis). Pure: same data, same page.
 */
import { accuracySvg } from '../sweep/chart.js';
import type { Dimension } from '../sweep/grid.js';
import type { PointResult } from '../sweep/runs.js';
import { el, esc, exact, keyValueTable, num, pct, seconds } from './format.js';
import { kpi, page, section } from './page.js';

export interface SweepReportData {
  readonly title: string;
  readonly createdAt: string;
  readonly version: string;
  /** The parent run. */
  readonly runId: string | undefined;
  readonly dimensions: readonly Dimension[];
  /** Parameters every point shares. */
  readonly fixed: Readonly<Record<string, string>>;
  readonly results: readonly PointResult[];
  readonly best: PointResult | undefined;
}

function pointsTable(d: SweepReportData): string {
  const head = [...d.dimensions.map((x) => x.name), 'status', 'val accuracy', 'test accuracy', 'train time', 'run', 'note'];
  const rows = d.results.map((r) => {
    const best = d.best !== undefined && r.key === d.best.key;
    const cells = [
      ...d.dimensions.map((x) => `<td>${esc(r.point[x.name] ?? '')}</td>`),
      `<td>${esc(r.status)}${best ? ' <b>(best)</b>' : ''}</td>`,
      `<td class="n" data-col="val_accuracy" data-value="${exact(r.valAccuracy)}">${pct(r.valAccuracy)}</td>`,
      `<td class="n" data-col="test_accuracy" data-value="${exact(r.testAccuracy)}">${pct(r.testAccuracy)}</td>`,
      `<td class="n">${seconds(r.trainSeconds)}</td>`,
      `<td><code>${esc(r.runId)}</code></td>`,
      `<td class="muted">${esc([r.skipped ? 'from an earlier sweep' : '', r.error ?? ''].filter((t) => t !== '').join('; '))}</td>`,
    ];
    return `<tr data-point="${esc(r.key)}"${best ? ' class="best"' : ''}>${cells.join('')}</tr>`;
  });
  return el('table', { class: 'grid', id: 'points' }, `<tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>${rows.join('')}`);
}

function bestSection(d: SweepReportData): string {
  const b = d.best;
  if (b === undefined) return section('best', 'Best point', '<p>No point finished.</p>');
  const rows: Array<[string, string]> = [
    ...d.dimensions.map((x): [string, string] => [x.name, `<code>${esc(b.point[x.name] ?? '')}</code>`]),
    ['validation accuracy (at its kept epoch)', pct(b.valAccuracy)],
    ['test accuracy', pct(b.testAccuracy)],
    ['train time', seconds(b.trainSeconds)],
    ['MLflow run', `<code>${esc(b.runId)}</code>`],
  ];
  return section('best', 'Best point (by validation accuracy, never test accuracy)', keyValueTable(rows, { id: 'best-point' }));
}

/** One chart per swept parameter: that parameter on x, one line per combination of the others. */
function charts(d: SweepReportData): string {
  const svgs = d.dimensions.map((dim) => accuracySvg(d.results, [dim, ...d.dimensions.filter((x) => x.name !== dim.name)]));
  return section('accuracy-by-parameter', 'Accuracy against each swept parameter', `<div class="charts">${svgs.join('')}</div>`);
}

export function renderSweepReport(d: SweepReportData): string {
  const count = (pred: (r: PointResult) => boolean) => d.results.filter(pred).length;
  const kpis = [
    kpi('total_points', 'points', String(d.results.length), exact(d.results.length)),
    kpi('finished_points', 'finished', String(count((r) => r.status === 'FINISHED')), exact(count((r) => r.status === 'FINISHED'))),
    kpi('failed_points', 'failed', String(count((r) => r.status === 'FAILED')), exact(count((r) => r.status === 'FAILED'))),
    kpi('best_val_accuracy', 'best val accuracy', pct(d.best?.valAccuracy), exact(d.best?.valAccuracy)),
    kpi('best_test_accuracy', 'its test accuracy', pct(d.best?.testAccuracy), exact(d.best?.testAccuracy)),
  ];
  const fixed = Object.entries(d.fixed);
  const body = [
    `<div class="kpis" id="kpis">${kpis.join('')}</div>`,
    bestSection(d),
    charts(d),
    section('points', 'All points', pointsTable(d)),
    section('fixed', 'Fixed parameters', fixed.length === 0 ? '<p>None: every point uses the defaults besides its swept values.</p>' : keyValueTable(fixed.map(([k, v]): [string, string] => [k, `<code>${esc(v)}</code>`]), { id: 'fixed-params' })),
    section('swept', 'Swept parameters', keyValueTable(d.dimensions.map((x): [string, string] => [x.name, esc(x.values.join(', '))]), { id: 'swept-params' })),
  ];
  const sub = `transferkit ${esc(d.version)} · ${esc(d.createdAt)}${d.runId === undefined ? '' : ` · MLflow parent run <code>${esc(d.runId)}</code>`} · ${num(d.results.length)} points`;
  return page(d.title, sub, body.join('\n'));
}
