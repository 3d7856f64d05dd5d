/**
 * The test set's side of a report: the confusion matrix as a heatmap (cell shade = share of the true
 * class's images), per-class accuracy with bars, and the gallery of misclassified images.
 */
import { el, esc, exact, pct } from './format.js';
import type { RunReportData } from './types.js';

type Test = RunReportData['test'];

/** White text on dark cells. */
const shade = (share: number) => {
  const a = Number.isFinite(share) ? Math.max(0, Math.min(1, share)) : 0;
  return `background:rgba(31,119,180,${a.toFixed(3)});color:${a > 0.55 ? 'white' : '#222'}`;
};

export function confusionHeatmap(test: Test, classNames: readonly string[]): string {
  const name = (i: number) => classNames[i] ?? String(i);
  const head = `<tr><th class="corner">true \\ predicted</th>${classNames.map((c) => `<th class="col" title="${esc(c)}"><span>${esc(c)}</span></th>`).join('')}</tr>`;
  const rows = test.confusion.map((row, t) => {
    const total = row.reduce((a, b) => a + b, 0);
    const cells = row.map((count, p) => {
      const share = total === 0 ? 0 : count / total;
      const tip = `true ${name(t)}, predicted ${name(p)}: ${count} of ${total} (${pct(share, 1)})`;
      const cls = t === p ? 'cell diag' : 'cell';
      return `<td class="${cls}" style="${shade(share)}" title="${esc(tip)}" data-true="${t}" data-predicted="${p}" data-count="${count}">${count}</td>`;
    });
    return `<tr><th class="row" title="${esc(name(t))}">${esc(name(t))}</th>${cells.join('')}</tr>`;
  });
  return el('table', { class: 'heatmap', id: 'confusion' }, head + rows.join(''));
}

export function perClassTable(test: Test, classNames: readonly string[]): string {
  const rows = classNames.map((c, i) => {
    const row = test.confusion[i] ?? [];
    const total = row.reduce((a, b) => a + b, 0);
    const acc = test.perClassAccuracy[i] ?? Number.NaN;
    const width = Number.isFinite(acc) ? (acc * 100).toFixed(1) : '0';
    return (
      `<tr data-class="${esc(c)}"><th>${esc(c)}</th><td class="n">${total}</td><td class="n">${row[i] ?? 0}</td>` +
      `<td class="n acc" data-value="${exact(acc)}">${pct(acc)}</td>` +
      `<td class="barcell"><div class="bar" style="width:${width}%"></div></td></tr>`
    );
  });
  return el(
    'table',
    { class: 'grid', id: 'per-class' },
    `<tr><th>class</th><th>test images</th><th>correct</th><th>accuracy</th><th class="barcell"></th></tr>${rows.join('')}`,
  );
}

export function mistakesGallery(m: RunReportData['mistakes']): string {
  const intro =
    m.total === 0
      ? '<p>No test image was misclassified.</p>'
      : `<p>${m.shown.length} of the ${m.total} misclassified test images, the most confident mistakes first.</p>`;
  const note = m.note === undefined ? '' : `<p class="muted">${esc(m.note)}</p>`;
  const figures = m.shown.map(
    (x) =>
      `<figure class="mistake" data-index="${x.index}"><img src="${esc(x.png)}" alt="${esc(`test image ${x.index}: ${x.trueClass} predicted as ${x.predictedClass}`)}">` +
      `<figcaption><span class="true">${esc(x.trueClass)}</span> → <span class="pred">${esc(x.predictedClass)}</span>` +
      ` <span class="prob">${pct(x.probability, 1)}</span><br><span class="muted">#${x.index}</span></figcaption></figure>`,
  );
  return `${intro}${note}${figures.length === 0 ? '' : el('div', { class: 'gallery', id: 'gallery' }, figures.join(''))}`;
}
