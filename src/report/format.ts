/**
 * Text for the HTML reports: every string that reaches a page goes through `esc` (class names come
 * from folder names, parameters from the command line), numbers through one of the formatters.
 */

export function esc(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** 0.93333 → "93.33%"; NaN or undefined → "n/a". */
export function pct(x: number | undefined, digits = 2): string {
  return x === undefined || !Number.isFinite(x) ? 'n/a' : `${(x * 100).toFixed(digits)}%`;
}

/** A number as people read it: integers whole, others to `digits` significant decimals; NaN → "n/a". */
export function num(x: number | undefined, digits = 4): string {
  if (x === undefined || !Number.isFinite(x)) return 'n/a';
  return Number.isInteger(x) ? String(x) : x.toFixed(digits);
}

/** Seconds as "0.4 s", "12.3 s", "4 min 05 s", "1 h 02 min". */
export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return 'n/a';
  if (s < 60) return `${s.toFixed(1)} s`;
  const whole = Math.round(s);
  if (whole < 3600) return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, '0')} s`;
  return `${Math.floor(whole / 3600)} h ${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')} min`;
}

/** A number for an attribute that tests and scripts read back exactly (JSON's spelling; NaN → ""). */
export function exact(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? '' : JSON.stringify(x);
}

/** `<tag attrs>text</tag>` with the text escaped; attribute values are escaped too. */
export function el(tag: string, attrs: Readonly<Record<string, string | undefined>>, inner: string): string {
  const a = Object.entries(attrs)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  return `<${tag}${a}>${inner}</${tag}>`;
}

/** A two-column table of label → already-escaped HTML value. */
export function keyValueTable(rows: readonly (readonly [string, string])[], attrs: Readonly<Record<string, string>> = {}): string {
  return el('table', { class: 'kv', ...attrs }, rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${v}</td></tr>`).join(''));
}
