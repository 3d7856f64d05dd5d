/**
 * Learning curves as inline SVG: one chart of per-epoch series (training solid, validation dashed),
 * epochs 1-based on x, stage boundaries as labelled vertical lines, the kept epoch marked. Every
 * point carries a <title> with its value, so hovering shows the number.
 */
import { esc } from './format.js';
import type { ReportEpoch } from './types.js';

export interface CurveSeries {
  readonly key: string;
  readonly label: string;
  readonly color: string;
  readonly dashed: boolean;
}

export interface CurveChart {
  readonly title: string;
  /** `unit`: y from 0 to 1 (accuracies); `auto`: from 0 (or the minimum when negative) to the maximum. */
  readonly range: 'unit' | 'auto';
  readonly series: readonly CurveSeries[];
}

const W = 560;
const H = 310;
const M = { left: 52, right: 16, top: 34, bottom: 72 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

export const BLUE = '#1f77b4';
export const ORANGE = '#ff7f0e';
export const GREEN = '#2ca02c';
export const RED = '#d62728';
export const PURPLE = '#9467bd';
export const BROWN = '#8c564b';

const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3));

function yRange(chart: CurveChart, values: readonly number[]): [number, number] {
  if (chart.range === 'unit') return [0, 1];
  const hi = Math.max(...values, 0);
  const lo = Math.min(...values, 0);
  return hi === lo ? [lo, lo + 1] : [lo, hi * 1.05];
}

/** The series of `chart` that have at least one finite value in `epochs`. */
export function presentSeries(chart: CurveChart, epochs: readonly ReportEpoch[]): CurveSeries[] {
  return chart.series.filter((s) => epochs.some((e) => Number.isFinite(e.values[s.key] ?? Number.NaN)));
}

export function curveSvg(chart: CurveChart, epochs: readonly ReportEpoch[], keptEpoch: number | undefined): string {
  const series = presentSeries(chart, epochs);
  const all = series.flatMap((s) => epochs.map((e) => e.values[s.key] ?? Number.NaN)).filter(Number.isFinite);
  const [lo, hi] = yRange(chart, all);
  const n = epochs.length;
  const x = (i: number) => M.left + (n <= 1 ? PW / 2 : (i * PW) / (n - 1));
  const y = (v: number) => M.top + (1 - (Math.min(hi, Math.max(lo, v)) - lo) / (hi - lo)) * PH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(chart.title)}">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="20" class="ctitle">${esc(chart.title)}</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = lo + ((hi - lo) * t) / 4;
    out.push(`<line x1="${M.left}" x2="${M.left + PW}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/>`);
    out.push(`<text x="${M.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${fmt(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil(n / 12));
  epochs.forEach((e, i) => {
    if (i % step === 0 || i === n - 1) out.push(`<text x="${x(i).toFixed(1)}" y="${M.top + PH + 16}" text-anchor="middle" class="tick">${e.epoch + 1}</text>`);
  });
  out.push(`<text x="${M.left + PW / 2}" y="${M.top + PH + 32}" text-anchor="middle" class="tick">epoch</text>`);
  // stage boundaries: a line before the first epoch of every stage after the first
  epochs.forEach((e, i) => {
    const prev = epochs[i - 1];
    if (prev === undefined || prev.stage === e.stage) return;
    const bx = (x(i - 1) + x(i)) / 2;
    out.push(`<line x1="${bx.toFixed(1)}" x2="${bx.toFixed(1)}" y1="${M.top}" y2="${M.top + PH}" stroke="#666" stroke-dasharray="2 3" class="stage-boundary"/>`);
    out.push(`<text x="${(bx + 4).toFixed(1)}" y="${M.top + 12}" class="tick">stage ${e.stage}</text>`);
  });
  const kept = keptEpoch === undefined ? -1 : epochs.findIndex((e) => e.epoch === keptEpoch);
  if (kept >= 0) {
    out.push(`<line x1="${x(kept).toFixed(1)}" x2="${x(kept).toFixed(1)}" y1="${M.top}" y2="${M.top + PH}" stroke="${GREEN}" stroke-width="1.5" stroke-dasharray="6 3" class="kept-epoch"/>`);
    out.push(`<text x="${(x(kept) - 4).toFixed(1)}" y="${M.top - 4}" text-anchor="end" class="tick" fill="${GREEN}">kept epoch ${keptEpoch === undefined ? '' : keptEpoch + 1}</text>`);
  }
  series.forEach((s, k) => {
    const pts = epochs.map((e, i) => [i, e.values[s.key] ?? Number.NaN] as const).filter(([, v]) => Number.isFinite(v));
    const d = pts.map(([i, v], j) => `${j === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="7 4"' : '';
    if (pts.length > 1) out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${dash} data-series="${esc(s.key)}"/>`);
    for (const [i, v] of pts) {
      const fill = s.dashed ? 'white' : s.color;
      out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${fill}" stroke="${s.color}"><title>${esc(s.label)}, epoch ${(epochs[i]?.epoch ?? 0) + 1}: ${esc(String(v))}</title></circle>`);
    }
    const lx = M.left + (k % 2) * 250;
    const ly = H - 22 + Math.floor(k / 2) * 16;
    out.push(`<line x1="${lx}" x2="${lx + 26}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 32}" y="${ly}" class="tick">${esc(s.label)}</text>`);
  });
  if (series.length === 0) out.push(`<text x="${M.left + PW / 2}" y="${M.top + PH / 2}" text-anchor="middle" class="tick">no values</text>`);
  out.push('</svg>');
  return out.join('');
}

/** The two charts every phase has, and an adaptation's own per-epoch numbers. */
export const LOSS_CHART: CurveChart = {
  title: 'Loss',
  range: 'auto',
  series: [
    { key: 'loss', label: 'loss (training)', color: BLUE, dashed: false },
    { key: 'val_loss', label: 'val_loss (validation)', color: ORANGE, dashed: true },
  ],
};

export const ACCURACY_CHART: CurveChart = {
  title: 'Accuracy',
  range: 'unit',
  series: [
    { key: 'accuracy', label: 'accuracy (training)', color: BLUE, dashed: false },
    { key: 'val_accuracy', label: 'val_accuracy (validation)', color: ORANGE, dashed: true },
  ],
};

export const ADAPTATION_CHARTS: readonly CurveChart[] = [
  {
    title: 'Target (reporting only) and adaptation rates',
    range: 'unit',
    series: [
      { key: 'target_test_accuracy', label: 'target test accuracy', color: GREEN, dashed: false },
      { key: 'pseudo_label_rate', label: 'pseudo-label rate', color: PURPLE, dashed: true },
      { key: 'domain_accuracy', label: 'domain accuracy', color: RED, dashed: true },
    ],
  },
  {
    title: 'Adaptation losses',
    range: 'auto',
    series: [
      { key: 'class_loss', label: 'class loss', color: BLUE, dashed: false },
      { key: 'target_entropy', label: 'target entropy', color: BROWN, dashed: true },
      { key: 'domain_loss', label: 'domain loss', color: RED, dashed: false },
      { key: 'coral_distance', label: 'CORAL distance', color: PURPLE, dashed: false },
    ],
  },
];
