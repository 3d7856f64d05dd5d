import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { LARGE_LABELS_PER_CLASS, SIMILAR_BELOW_PAD, UNRELATED_FROM_PAD, advise } from '../../../src/pipeline/recommend/advice.js';
import { PAD_SE_MULTIPLE, SIZE_BAND, candidates, padStandardError } from '../../../src/pipeline/recommend/candidates.js';
import { settingText } from '../../../src/pipeline/recommend/setting.js';

const vgg16 = BACKBONES.vgg16.blocks;
const lite0 = BACKBONES.efficientnet_lite0.blocks;
const settings = (c: ReturnType<typeof candidates>) => c.settings.map(settingText);
/** A PAD measured on 500 held-out images whose classifier erred at rate `error`. */
const pad = (error: number) => ({ pad: 2 * (1 - 2 * error), error, heldOut: 500 });

describe('how sure the strategy table is', () => {
  it('is sure when every plausible cell advises the same: few labels, whatever the similarity', () => {
    for (const measured of [pad(0.45), pad(0.25), pad(0.01), undefined]) {
      const c = candidates(10, measured, lite0);
      assert.equal(c.sure, true);
      assert.deepEqual(settings(c), ['retrained_conv_layers=0']);
      assert.equal(c.why, '');
    }
  });

  it('is sure far from both thresholds', () => {
    const c = candidates(LARGE_LABELS_PER_CLASS * SIZE_BAND * 3, pad(0.45), vgg16);
    assert.equal(c.sure, true);
    assert.deepEqual(settings(c), ['retrained_conv_layers=3']);
  });

  it('names both rows when the budget is within the size band, the point estimate first', () => {
    const k = LARGE_LABELS_PER_CLASS; // 'large' at the point, 'small' at k / SIZE_BAND
    const c = candidates(k, pad(0.45), vgg16);
    assert.equal(c.sure, false);
    assert.deepEqual(settings(c), ['retrained_conv_layers=3', 'retrained_conv_layers=0']);
    assert.match(c.why, new RegExp(`within a factor ${SIZE_BAND} of the size threshold`));
    // just outside the band on either side: sure again
    assert.equal(candidates(Math.floor(k / SIZE_BAND) - 1, pad(0.45), vgg16).sure, true);
    assert.equal(candidates(k * SIZE_BAND, pad(0.45), vgg16).sure, true);
  });

  it('names both columns when the PAD is within its standard errors of a threshold', () => {
    const k = LARGE_LABELS_PER_CLASS * SIZE_BAND * 3;
    // PAD 1.0 exactly (ε = 0.25): similar and different are both plausible
    const near = candidates(k, pad(0.25), vgg16);
    assert.equal(near.sure, false);
    assert.deepEqual(settings(near), ['retrained_conv_layers=all', 'retrained_conv_layers=3']);
    assert.match(near.why, /PAD 1\.00 ± 0\.\d\d \(2 standard errors\) spans different and similar/);
    // far below the threshold in standard errors: sure
    const se = padStandardError(0.4, 500);
    assert.ok(2 * (1 - 2 * 0.4) + PAD_SE_MULTIPLE * se < SIMILAR_BELOW_PAD);
    assert.equal(candidates(k, pad(0.4), vgg16).sure, true);
    // near the unrelated threshold: fine-tune all, with from scratch as a candidate
    const edge = candidates(k, { pad: UNRELATED_FROM_PAD, error: (1 - UNRELATED_FROM_PAD / 2) / 2, heldOut: 500 }, vgg16);
    assert.deepEqual(settings(edge), ['retrained_conv_layers=all', 'weights=none retrained_conv_layers=all']);
  });

  it('never picks from scratch, even at a saturated PAD; a large budget then pilots it against fine-tuning', () => {
    const saturated = candidates(6000, pad(0), lite0); // ε = 0: PAD 2, the separation a blurred copy gets on ImageNet features
    assert.equal(saturated.advice.fromScratch, false);
    assert.deepEqual(settings(saturated), ['retrained_blocks=all', 'weights=none retrained_blocks=all']);
    assert.equal(saturated.sure, false);
    assert.match(saturated.why, /may be unrelated.*from scratch is checked/);
    // few labels: no scratch candidate at all
    assert.deepEqual(settings(candidates(50, pad(0), lite0)), ['retrained_conv_layers=0']);
  });

  it('the PAD standard error shrinks with more held-out images and is never zero', () => {
    assert.ok(padStandardError(0.25, 2000) < padStandardError(0.25, 500));
    assert.ok(padStandardError(0, 500) > 0);
    // 4·√(ε(1−ε)/n) for a smoothed ε: at ε = 0.25 on 500 images about 0.077
    assert.ok(Math.abs(padStandardError(0.25, 500) - 4 * Math.sqrt((0.25 * 0.75) / 500)) < 0.002);
  });

  it('without a source, a large budget is unsure between the last block and everything, never from scratch', () => {
    const c = candidates(5000, undefined, lite0);
    assert.equal(c.advice.similarity, 'unknown');
    assert.equal(c.sure, false);
    assert.deepEqual(settings(c), ['retrained_blocks=all', 'retrained_blocks=1']);
    assert.ok(!settings(c).some((s) => s.includes('weights=none')));
    assert.match(c.why, /not measured/);
    assert.match(c.advice.reason, /not measured.*Kornblith/);
    // and the point estimate is the table's own cell
    assert.deepEqual(c.advice, advise({ labelsPerClass: 5000, pad: undefined, blocks: lite0 }));
  });
});
