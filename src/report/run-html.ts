/**
 * A run's report.html from its RunReportData: headline numbers, learning curves of every phase,
 * the confusion matrix, per-class accuracy, misclassified images, the comparison with training from
 * scratch, adaptation numbers, parameters, data and timings. Pure: same data, same page.
 */
import { ACCURACY_CHART, ADAPTATION_CHARTS, curveSvg, LOSS_CHART, presentSeries } from './curves.js';
import { confusionHeatmap, mistakesGallery, perClassTable } from './evaluation-html.js';
import { el, esc, exact, keyValueTable, num, pct, seconds } from './format.js';
import { kpi, page, section } from './page.js';
import type { ReportPhase, RunReportData } from './types.js';

function stageList(p: ReportPhase): string {
  if (p.stages.length <= 1 && (p.stages[0]?.trainable.length ?? 0) === 0) return '';
  let first = 0;
  const items = p.stages.map((s) => {
    const range = `epochs ${first + 1}–${first + s.epochsRun}`;
    first += s.epochsRun;
    const what = s.trainable.length === 0 ? 'the head' : `the head and ${s.trainable.join(', ')}`;
    return `<li>stage ${s.stage}: ${esc(range)} trained ${esc(what)}; kept epoch ${s.bestEpoch + 1}${s.stoppedEarly ? ', stopped early' : ''}</li>`;
  });
  return `<ul>${items.join('')}</ul>`;
}

function phaseCurves(p: ReportPhase, adaptation: boolean): string {
  const charts = [LOSS_CHART, ACCURACY_CHART, ...(adaptation ? ADAPTATION_CHARTS : [])].filter((c) => presentSeries(c, p.epochs).length > 0);
  const head =
    `<h3>${esc(p.title)}</h3><p>${p.epochs.length} epochs; test accuracy <b>${pct(p.test.accuracy)}</b> ` +
    `(loss ${num(p.test.loss)}) on ${p.test.count} images; kept epoch ${p.keptEpoch + 1}.</p>`;
  return `<div class="phase" data-phase="${p.key}" data-epochs="${p.epochs.length}">${head}${stageList(p)}` +
    `<div class="charts">${charts.map((c) => curveSvg(c, p.epochs, p.keptEpoch)).join('')}</div></div>`;
}

function comparison(d: RunReportData): string {
  const c = d.comparison;
  if (c === undefined) return '';
  const row = (name: string, t: typeof c.transfer) =>
    `<tr><th>${esc(name)}</th><td class="n" data-value="${exact(t.accuracy)}">${pct(t.accuracy)}</td><td class="n">${num(t.loss)}</td><td class="n">${seconds(t.seconds)}</td></tr>`;
  const diff = (c.transfer.accuracy - c.scratch.accuracy) * 100;
  const table = el(
    'table',
    { class: 'grid', id: 'comparison' },
    `<tr><th>model</th><th class="n">test accuracy</th><th class="n">test loss</th><th class="n">wall time</th></tr>${row('transfer (this run)', c.transfer)}${row('from scratch', c.scratch)}`,
  );
  const verdict = `<p>Transfer ${diff >= 0 ? 'beats' : 'trails'} training from scratch by <b>${Math.abs(diff).toFixed(2)} points</b>.</p>`;
  return section('transfer-vs-scratch', 'Transfer vs. training from scratch', `${verdict}${table}${c.text === undefined ? '' : `<p class="muted">${esc(c.text)}</p>`}`);
}

/** Accuracies and gaps as percentages, epoch numbers 1-based, times as durations. */
function adaptValue(key: string, v: number): string {
  if (/accuracy|gap/.test(key)) return pct(v);
  if (/(^|_)epoch($|_)/.test(key)) return String(v + 1);
  if (key.endsWith('_seconds')) return seconds(v);
  return num(v);
}

function adaptation(d: RunReportData): string {
  const a = d.adaptation;
  if (a === undefined) return '';
  const rows: Array<[string, string]> = [
    ['method', esc(a.method)],
    ['domains', esc(a.domains)],
    ['epoch selection signal', esc(a.selectionSignal)],
    ...Object.entries(a.metrics).map(([k, v]): [string, string] => [k, adaptValue(k, v)]),
  ];
  const summary = d.notes.includes(a.summary) ? '' : `<p>${esc(a.summary)}</p>`;
  return section('adaptation', 'Domain adaptation', `${summary}${keyValueTable(rows, { id: 'adaptation-metrics' })}<p class="muted">Epoch numbers are shown 1-based.</p>`);
}

function dataSection(d: RunReportData): string {
  const s = d.data;
  const rows: Array<[string, string]> = [
    ['dataset', esc(s.dataset)],
    ['read from', esc(s.source)],
    ['fingerprint', `<code>${esc(s.fingerprint)}</code>${s.verified === true ? ' (official checksums verified)' : ''}`],
    ['classes', esc(s.classes.map((c) => `${c.id}: ${c.name}`).join(', '))],
    ...s.counts.map(([k, n]): [string, string] => [`${k} images`, String(n)]),
  ];
  if (s.skipped !== undefined) {
    const skipped = Object.entries(s.skipped).filter(([, n]) => n > 0);
    rows.push(['skipped files', skipped.length === 0 ? 'none' : esc(skipped.map(([r, n]) => `${n} ${r}`).join(', '))]);
  }
  return section('data', 'Data', keyValueTable(rows, { id: 'data-summary' }) + s.notes.map((n) => `<p>${esc(n)}</p>`).join(''));
}

function timings(d: RunReportData): string {
  const rows = d.timings.map((t) => `<tr><th>${esc(t.label)}</th><td class="n" data-value="${exact(t.seconds)}">${seconds(t.seconds)}</td><td class="muted">${esc(t.note ?? '')}</td></tr>`);
  return section('timings', 'Timings', el('table', { class: 'grid', id: 'timings-table' }, rows.join('')));
}

/** Parameters in three side-by-side tables (schema order, top to bottom). */
function paramsColumns(params: Readonly<Record<string, string>>): string {
  const rows = Object.entries(params).map(([k, v]): [string, string] => [k, v === '' ? '<span class="muted">(empty)</span>' : `<code>${esc(v)}</code>`]);
  const per = Math.ceil(rows.length / 3);
  const columns = [0, 1, 2].map((c) => keyValueTable(rows.slice(c * per, (c + 1) * per))).join('');
  return `<div class="columns" id="params">${columns}</div>`;
}

export function renderRunReport(d: RunReportData): string {
  const kpis = [
    kpi('test_accuracy', 'test accuracy', pct(d.test.accuracy), exact(d.test.accuracy)),
    kpi('test_loss', 'test loss', num(d.test.loss), exact(d.test.loss)),
    kpi('test_count', 'test images', String(d.test.count), exact(d.test.count)),
    kpi('epochs', 'epochs run', String(d.epochsRun), exact(d.epochsRun)),
    kpi('kept_epoch', 'kept epoch', String(d.keptEpoch + 1), exact(d.keptEpoch)),
    ...(d.comparison === undefined ? [] : [kpi('scratch_test_accuracy', 'from scratch', pct(d.comparison.scratch.accuracy), exact(d.comparison.scratch.accuracy))]),
  ];
  const body = [
    `<div class="kpis" id="kpis">${kpis.join('')}</div>`,
    d.notes.length === 0 ? '' : section('summary', 'Summary', d.notes.map((n) => `<p>${esc(n)}</p>`).join('')),
    section('curves', 'Learning curves', d.phases.map((p) => phaseCurves(p, d.adaptation !== undefined && p.key === 'target')).join('')),
    `<div class="pair">${section('confusion-matrix', 'Confusion matrix (test set)', `<p class="muted">Rows: true class; columns: predicted class; shade: share of the row.</p>${confusionHeatmap(d.test, d.classNames)}`)}` +
      `${section('per-class-accuracy', 'Accuracy per class (test set)', perClassTable(d.test, d.classNames))}</div>`,
    section('misclassified', 'Misclassified test images', mistakesGallery(d.mistakes)),
    comparison(d),
    adaptation(d),
    dataSection(d),
    section('parameters', 'Parameters', paramsColumns(d.params)),
    timings(d),
  ];
  const sub = `transferkit ${esc(d.version)} · ${esc(d.createdAt)}${d.runId === undefined ? '' : ` · MLflow run <code>${esc(d.runId)}</code>`}`;
  return page(d.title, sub, body.join('\n'));
}
