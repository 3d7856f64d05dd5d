import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { candidates } from '../../../src/pipeline/recommend/candidates.js';
import { PILOT_SE_MULTIPLE, choosePilot } from '../../../src/pipeline/recommend/pilot-choice.js';
import { settingText } from '../../../src/pipeline/recommend/setting.js';

// no source, 1000 labels per class: the table picks everything; the last block and the frozen head are candidates
const table = candidates(1000, undefined, BACKBONES.efficientnet_lite0.blocks);
const [pick, ...others] = table.settings;
const outcome = (setting: string, heldOutAccuracy: number, heldOutImages = 2000) => ({ setting, heldOutAccuracy, heldOutImages });

describe('what the pilot runs decide', () => {
  it('the fixture is an unsure table with three candidates', () => {
    assert.equal(table.sure, false);
    assert.deepEqual(table.settings.map(settingText), ['retrained_blocks=all', 'retrained_conv_layers=0', 'retrained_blocks=1']);
    assert.ok(pick !== undefined && others.length === 2);
  });

  it('switches to a candidate that beats the table pick by more than the margin', () => {
    if (pick === undefined) throw new Error('no pick');
    const c = choosePilot(pick, table.settings, [outcome('retrained_blocks=all', 0.80), outcome('retrained_conv_layers=0', 0.86), outcome('retrained_blocks=1', 0.83)]);
    assert.equal(settingText(c.chosen), 'retrained_conv_layers=0');
    assert.ok(Math.abs(c.lead - 0.06) < 1e-12);
    const p = (0.86 + 0.8) / 2;
    assert.ok(Math.abs(c.needed - PILOT_SE_MULTIPLE * Math.sqrt((2 * p * (1 - p)) / 2000)) < 1e-12);
    assert.match(c.reason, /retrained_conv_layers=0 beat the table's pick retrained_blocks=all by 6\.0%/);
  });

  it('keeps the table pick when the best is within the pilots\' noise', () => {
    if (pick === undefined) throw new Error('no pick');
    // on 50 held-out images a 2-point lead is noise
    const c = choosePilot(pick, table.settings, [outcome('retrained_blocks=all', 0.8, 50), outcome('retrained_conv_layers=0', 0.82, 50), outcome('retrained_blocks=1', 0.7, 50)]);
    assert.equal(c.chosen, pick);
    assert.match(c.reason, /within the pilots' noise/);
    // the same lead on 20,000 images is not
    const big = choosePilot(pick, table.settings, [outcome('retrained_blocks=all', 0.8, 20000), outcome('retrained_conv_layers=0', 0.82, 20000), outcome('retrained_blocks=1', 0.7, 20000)]);
    assert.equal(settingText(big.chosen), 'retrained_conv_layers=0');
  });

  it('keeps the table pick when it scores best', () => {
    if (pick === undefined) throw new Error('no pick');
    const c = choosePilot(pick, table.settings, [outcome('retrained_blocks=all', 0.9), outcome('retrained_conv_layers=0', 0.5), outcome('retrained_blocks=1', 0.6)]);
    assert.equal(c.chosen, pick);
    assert.match(c.reason, /the table's pick scored best/);
  });

  it('refuses outcomes that miss a candidate', () => {
    if (pick === undefined) throw new Error('no pick');
    assert.throws(() => choosePilot(pick, table.settings, [outcome('retrained_blocks=all', 0.9)]), /no pilot outcome for retrained_conv_layers=0/);
  });
});
