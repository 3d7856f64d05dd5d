import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { curveSvg, LOSS_CHART } from '../../src/report/curves.js';
import { esc, pct, seconds } from '../../src/report/format.js';
import { renderRunReport } from '../../src/report/run-html.js';
import { epochs, HOSTILE, runReport } from './fixture.js';

const count = (text: string, pattern: RegExp) => (text.match(pattern) ?? []).length;

describe('run report HTML', () => {
  it('escapes every text: class names, parameters and captions never become markup', () => {
    const html = renderRunReport(runReport());
    assert.equal(count(html, /<script/gi), 0, 'no script element, not even from a class name');
    assert.ok(html.includes(esc(HOSTILE)), 'the hostile class name is shown, escaped');
    assert.ok(!html.includes(`alt="test image 7: <`), 'attribute values escaped too');
  });

  it('is self-contained: no URL outside the page but data: images, a CSP that forbids the network', () => {
    const html = renderRunReport(runReport());
    const urls = [...html.matchAll(/(?:src|href)\s*=\s*"([^"]*)"/g)].map((m) => m[1] ?? '');
    assert.ok(urls.length > 0);
    for (const u of urls) assert.match(u, /^data:image\/png;base64,/, `only inline images, got ${u}`);
    assert.doesNotMatch(html, /@import|url\(|<link|<iframe|<object/i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"/);
  });

  it('shows the headline numbers with their exact values for machines', () => {
    const html = renderRunReport(runReport());
    assert.match(html, /data-metric="test_accuracy" data-value="0.8333333333333334"><div class="v">83.33%</);
    assert.match(html, /data-metric="epochs" data-value="5"><div class="v">5</);
    assert.match(html, /data-metric="kept_epoch" data-value="3"><div class="v">4</, 'epochs shown 1-based');
  });

  it('draws a heatmap cell per class pair and a per-class row per class, NaN as n/a', () => {
    const html = renderRunReport(runReport({ test: { ...runReport().test, perClassAccuracy: [0.9, Number.NaN, 0.8] } }));
    assert.equal(count(html, /<td class="cell( diag)?"/g), 9);
    assert.equal(count(html, /<td class="cell diag"/g), 3);
    assert.equal(count(html, /<tr data-class=/g), 3);
    assert.match(html, /<td class="n acc" data-value="">n\/a<\/td>/);
  });

  it('marks stage boundaries and the kept epoch on the learning curves', () => {
    const svg = curveSvg(LOSS_CHART, epochs(5, 3), 3);
    assert.equal(count(svg, /class="stage-boundary"/g), 1);
    assert.match(svg, />stage 2</);
    assert.equal(count(svg, /class="kept-epoch"/g), 1);
    assert.match(svg, /kept epoch 4/);
    assert.equal(count(svg, /<circle /g), 10, 'loss and val_loss, five epochs each');
    assert.equal(count(curveSvg(LOSS_CHART, epochs(4), 1), /stage-boundary/g), 0);
  });

  it('has a comparison section only for runs with a baseline, an adaptation section only for adaptation', () => {
    const plain = renderRunReport(runReport());
    assert.doesNotMatch(plain, /id="transfer-vs-scratch"|id="adaptation"/);
    const compared = renderRunReport(runReport({
      comparison: { transfer: { count: 30, loss: 0.4, accuracy: 0.8, seconds: 10 }, scratch: { count: 30, loss: 0.9, accuracy: 0.6, seconds: 8 }, text: 'transfer 80% vs 60%' },
    }));
    assert.match(compared, /id="transfer-vs-scratch"/);
    assert.match(compared, /beats training from scratch by <b>20.00 points<\/b>/);
    const adapted = renderRunReport(runReport({
      adaptation: { method: 'dann', domains: 'mnist → usps', summary: 'dann: target test 80%', selectionSignal: 'source_val_loss', metrics: { selected_epoch: 2, selection_gap: 0.01 } },
    }));
    assert.match(adapted, /id="adaptation"/);
    assert.match(adapted, /<th>selected_epoch<\/th><td>3<\/td>/);
  });

  it('lists skipped files of folder datasets and says when there is nothing to show', () => {
    const html = renderRunReport(runReport());
    assert.match(html, /<th>skipped files<\/th><td>2 corrupt<\/td>/);
    const none = renderRunReport(runReport({ mistakes: { total: 0, shown: [], note: undefined } }));
    assert.match(none, /No test image was misclassified/);
  });

  it('formats numbers for people', () => {
    assert.equal(pct(0.83333), '83.33%');
    assert.equal(pct(Number.NaN), 'n/a');
    assert.equal(seconds(4.26), '4.3 s');
    assert.equal(seconds(245), '4 min 05 s');
    assert.equal(seconds(3725), '1 h 02 min');
  });
});
