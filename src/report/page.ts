/**
 * The HTML shell every report shares: one self-contained file (CSS inline, no scripts, no fonts or
 * images from elsewhere; a Content-Security-Policy that forbids any network access), so it opens the
 * same from disk, as an MLflow artifact and offline.
 */
import { esc } from './format.js';

const CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #222; margin: 0; background: #f6f7f9; }
header { background: #1f2d3d; color: white; padding: 18px 28px; }
header h1 { margin: 0 0 4px; font-size: 22px; font-weight: 600; }
header .sub { color: #c9d3de; font-size: 13px; }
header code { background: rgba(255, 255, 255, 0.14); color: white; }
main { padding: 8px 28px 40px; max-width: 1240px; }
section { background: white; border: 1px solid #e1e4e8; border-radius: 6px; padding: 14px 18px; margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 10px; }
h3 { font-size: 15px; margin: 14px 0 6px; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; }
.kpi { background: white; border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 16px; min-width: 130px; }
.kpi .v { font-size: 22px; font-weight: 600; }
.kpi .k { color: #666; font-size: 12px; }
.pair { display: flex; flex-wrap: wrap; gap: 0 16px; align-items: stretch; }
.pair > section { flex: 1 1 440px; }
.columns { display: flex; flex-wrap: wrap; gap: 8px 28px; align-items: flex-start; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
svg.chart { border: 1px solid #eee; border-radius: 4px; max-width: 100%; height: auto; font-family: inherit; }
svg .ctitle { font-size: 14px; font-weight: 600; }
svg .tick { font-size: 11px; fill: #444; }
table { border-collapse: collapse; }
table.grid th, table.grid td, table.kv th, table.kv td { border-bottom: 1px solid #eee; padding: 4px 10px; text-align: left; vertical-align: top; }
table.kv th { color: #555; font-weight: 500; white-space: nowrap; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.barcell { width: 160px; }
.bar { height: 12px; background: #1f77b4; border-radius: 2px; }
table.heatmap { font-variant-numeric: tabular-nums; }
table.heatmap td.cell { width: 56px; height: 38px; text-align: center; border: 1px solid white; }
table.heatmap td.diag { outline: 2px solid #2ca02c; outline-offset: -2px; }
table.heatmap th.col { height: 110px; vertical-align: bottom; padding: 0 2px 4px; max-width: 56px; }
table.heatmap th.col span { writing-mode: vertical-rl; transform: rotate(180deg); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-height: 110px; display: inline-block; }
table.heatmap th.row { text-align: right; vertical-align: middle; padding-right: 8px; max-width: 220px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
table.heatmap th.corner { font-weight: 400; color: #666; font-size: 12px; vertical-align: bottom; text-align: right; padding: 0 8px 4px 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 10px; }
figure.mistake { margin: 0; width: 132px; text-align: center; font-size: 12px; }
figure.mistake img { width: 112px; height: 112px; object-fit: contain; image-rendering: pixelated; background: #111; border-radius: 3px; }
.true { color: #2ca02c; font-weight: 600; } .pred { color: #d62728; font-weight: 600; }
.muted { color: #777; }
.best td, .best th { background: #eaf5ea; }
code { background: #f0f1f3; padding: 0 4px; border-radius: 3px; }
`;

/** No network at all: only inline styles and data: images. */
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export function page(title: string, subtitle: string, body: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
    `<header><h1>${esc(title)}</h1><div class="sub">${subtitle}</div></header>`,
    `<main>${body}</main>`,
    '</body></html>',
    '',
  ].join('\n');
}

export function section(id: string, title: string, inner: string): string {
  return `<section id="${esc(id)}"><h2>${esc(title)}</h2>${inner}</section>`;
}

/** A headline number; `value` is shown, `exactValue` kept in data-value for machines. */
export function kpi(key: string, label: string, shown: string, exactValue: string): string {
  return `<div class="kpi" data-metric="${esc(key)}" data-value="${esc(exactValue)}"><div class="v">${esc(shown)}</div><div class="k">${esc(label)}</div></div>`;
}
