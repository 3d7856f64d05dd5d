/**
 * `sweep/accuracy.svg`: validation (solid) and test (dashed) accuracy against the first swept
 * parameter, one line per value of the others. MLflow's artifact viewer previews SVG images.
 */
import type { Dimension } from './grid.js';
import type { PointResult } from './runs.js';

const W = 720;
const H = 420;
const M = { left: 60, right: 220, top: 40, bottom: 50 };
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

const esc = (t: string) => t.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

interface Series {
  readonly label: string;
  readonly color: string;
  readonly val: Array<[number, number]>;
  readonly test: Array<[number, number]>;
}

function seriesOf(results: readonly PointResult[], dims: readonly Dimension[]): Series[] {
  const [first, ...rest] = dims;
  if (first === undefined) return [];
  const groups = new Map<string, PointResult[]>();
  for (const r of results) {
    const label = rest.map((d) => `${d.name}=${r.point[d.name] ?? ''}`).join(', ');
    groups.set(label, [...(groups.get(label) ?? []), r]);
  }
  return [...groups.entries()].map(([label, rs], i) => {
    const xs = (r: PointResult) => first.values.indexOf(r.point[first.name] ?? '');
    const pts = (pick: (r: PointResult) => number | undefined): Array<[number, number]> =>
      rs
        .filter((r) => r.status === 'FINISHED' && pick(r) !== undefined)
        .map((r): [number, number] => [xs(r), pick(r) ?? 0])
        .sort((a, b) => a[0] - b[0]);
    return { label: label === '' ? 'all' : label, color: COLORS[i % COLORS.length] ?? '#000', val: pts((r) => r.valAccuracy), test: pts((r) => r.testAccuracy) };
  });
}

export function accuracySvg(results: readonly PointResult[], dims: readonly Dimension[]): string {
  const first = dims[0];
  const xValues = first?.values ?? [];
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const x = (i: number) => M.left + (xValues.length <= 1 ? plotW / 2 : (i * plotW) / (xValues.length - 1));
  const y = (v: number) => M.top + (1 - Math.min(1, Math.max(0, v))) * plotH;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${M.left}" y="22" font-size="15">Accuracy by ${esc(first?.name ?? 'point')} (solid: validation at best epoch, dashed: test)</text>`,
  ];
  for (let t = 0; t <= 10; t += 2) {
    const v = t / 10;
    out.push(`<line x1="${M.left}" x2="${M.left + plotW}" y1="${y(v)}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(1)}</text>`);
  }
  xValues.forEach((v, i) => out.push(`<text x="${x(i)}" y="${M.top + plotH + 18}" text-anchor="middle">${esc(v)}</text>`));
  out.push(`<text x="${M.left + plotW / 2}" y="${H - 10}" text-anchor="middle">${esc(first?.name ?? '')}</text>`);
  out.push(`<text transform="translate(16 ${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">accuracy</text>`);
  const path = (pts: Array<[number, number]>) => pts.map(([i, v], k) => `${k === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  seriesOf(results, dims).forEach((s, n) => {
    for (const [pts, dash] of [[s.val, ''], [s.test, ' stroke-dasharray="6 4"']] as const) {
      if (pts.length > 1) out.push(`<path d="${path(pts)}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
      for (const [i, v] of pts) out.push(`<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3.5" fill="${dash === '' ? s.color : 'white'}" stroke="${s.color}"/>`);
    }
    const ly = M.top + 10 + n * 18;
    out.push(`<line x1="${W - M.right + 15}" x2="${W - M.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"/>`);
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.label)}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
