import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { advise, fromScratchAt } from '../../../src/pipeline/recommend/advice.js';
import { recommendParamsSchema } from '../../../src/pipeline/recommend/params.js';
import { shellWord, trainCommand } from '../../../src/pipeline/recommend/report.js';
import { settingText } from '../../../src/pipeline/recommend/setting.js';

describe('the advice as a train command', () => {
  const params = parseParams(recommendParamsSchema, {
    dataset: 'fashion-mnist', classes: 'Ankle boot,Bag', samples_per_class: '100', backbone: 'small-cnn', weights: "out/it's/model", domain_samples: '100',
  });

  it('keeps the target parameters and sets the advised ones', () => {
    const small = advise({ labelsPerClass: 100, pad: 0.3, blocks: BACKBONES['small-cnn'].blocks });
    assert.equal(
      trainCommand(params, small),
      `transferkit train --dataset fashion-mnist --classes 'Ankle boot,Bag' --samples_per_class 100 --backbone small-cnn --weights 'out/it'\\''s/model' --retrained_conv_layers 0`,
    );
    const scratch = fromScratchAt('large', { labelsPerClass: 6000, pad: 1.99, blocks: BACKBONES['small-cnn'].blocks });
    assert.match(trainCommand(params, scratch), /--weights none --retrained_conv_layers all$/);
    assert.equal(settingText(scratch), 'weights=none retrained_conv_layers=all');
  });

  it('lets every label train at 1 label per class (train would hold the only one out for validation)', () => {
    const one = parseParams(recommendParamsSchema, { dataset: 'fashion-mnist', samples_per_class: '1', backbone: 'efficientnet_lite0' });
    const frozen = advise({ labelsPerClass: 1, pad: undefined, blocks: BACKBONES.efficientnet_lite0.blocks });
    assert.match(trainCommand(one, frozen), /--samples_per_class 1 .*--retrained_conv_layers 0 --validation_fraction 0$/);
    assert.doesNotMatch(trainCommand(parseParams(recommendParamsSchema, { samples_per_class: '2' }), frozen), /validation_fraction/);
  });

  it('quotes only what the shell would split', () => {
    assert.equal(shellWord('5-9'), '5-9');
    assert.equal(shellWord('/a/b.h5'), '/a/b.h5');
    assert.equal(shellWord('a b'), "'a b'");
    assert.equal(shellWord(''), "''");
  });
});
