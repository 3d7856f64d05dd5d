import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../src/errors.js';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../src/pipeline/params/train.js';
import { checkSourceClasses, planRecipe } from '../../src/pipeline/recipe.js';

const params = (raw: Record<string, string>) => parseParams(trainParamsSchema, raw);

describe('planRecipe', () => {
  it('is one stage by default: the head on the frozen base', () => {
    const r = planRecipe(params({}), BACKBONES.vgg16);
    assert.equal(r.stages.length, 1);
    assert.deepEqual(r.stages[0]?.plan.trainable, []);
    assert.equal(r.source, undefined);
    assert.equal(r.scratch, undefined);
  });

  it('adds a fine-tuning stage at a 10× smaller learning rate, for max_epochs unless given', () => {
    const r = planRecipe(params({ fine_tune_blocks: '1', learning_rate: '0.002', max_epochs: '7' }), BACKBONES.vgg16);
    assert.equal(r.stages.length, 2);
    assert.deepEqual(r.stages[1]?.plan.trainable, ['block5_conv1', 'block5_conv2', 'block5_conv3']);
    assert.ok(Math.abs((r.stages[1]?.learningRate ?? 0) - 0.0002) < 1e-12);
    assert.equal(r.stages[1]?.maxEpochs, 7);
    const custom = planRecipe(params({ fine_tune_conv_layers: '2', fine_tune_lr_factor: '0.5', fine_tune_epochs: '3' }), BACKBONES.vgg16);
    assert.equal(custom.stages[1]?.learningRate, 0.0005);
    assert.equal(custom.stages[1]?.maxEpochs, 3);
  });

  it('refuses a fine-tuning stage that unfreezes nothing new', () => {
    assert.throws(
      () => planRecipe(params({ retrained_conv_layers: '3', fine_tune_conv_layers: '2' }), BACKBONES.vgg16),
      (e: unknown) => e instanceof ParamError && e.param === 'fine_tune_conv_layers' && /more conv layers than stage 1 trains \(3\), got 2/.test(e.message),
    );
    assert.throws(
      () => planRecipe(params({ fine_tune_blocks: '9' }), BACKBONES.vgg16),
      (e: unknown) => e instanceof ParamError && e.param === 'fine_tune_blocks',
    );
  });

  it('trains a source model on source_classes (every layer) and a from-scratch baseline when asked', () => {
    const r = planRecipe(params({ source_classes: '0-4', source_epochs: '2', compare_scratch: '1', max_epochs: '9' }), BACKBONES['small-cnn']);
    assert.equal(r.source?.classes, '0-4');
    assert.equal(r.source?.stages[0]?.maxEpochs, 2);
    assert.equal(r.source?.stages[0]?.plan.frozen.length, 0);
    assert.equal(r.scratch?.stages[0]?.maxEpochs, 9);
    assert.equal(r.scratch?.stages[0]?.plan.frozen.length, 0);
  });
});

describe("auto's probe fits every label up to 100 per class (poolValidation)", () => {
  const lite0 = BACKBONES.efficientnet_lite0;
  const pools = (raw: Record<string, string>) => planRecipe(params({ backbone: 'efficientnet_lite0', ...raw }), lite0).stages[0]?.poolValidation === true;
  it('pools when head_solver=auto chose the probe, nothing follows it, and samples_per_class ≤ 100', () => {
    assert.equal(planRecipe(params({ backbone: 'efficientnet_lite0', samples_per_class: '30' }), lite0).stages[0]?.solver, 'ridge');
    assert.equal(pools({ samples_per_class: '30' }), true);
    assert.equal(pools({ samples_per_class: '100' }), true);
  });
  it('keeps the validation split otherwise', () => {
    assert.equal(pools({ samples_per_class: '101' }), false, 'more labels than leave-one-out was measured at');
    assert.equal(pools({ samples_per_class: 'all' }), false);
    assert.equal(pools({ samples_per_class: '30', head_solver: 'ridge' }), false, 'an explicit ridge keeps its documented validation split');
    assert.equal(pools({ samples_per_class: '30', fine_tune_blocks: '1' }), false, 'LP-FT: the fine-tuning stage early-stops on the split');
    assert.equal(pools({ samples_per_class: '30', validation_fraction: '0', use_early_stop: '0' }), false, 'no split to pool');
    assert.equal(pools({ samples_per_class: '30', retrained_blocks: '1' }), false, 'Adam: not the probe');
    assert.equal(planRecipe(params({ samples_per_class: '30' }), BACKBONES.vgg16).stages[0]?.poolValidation, undefined, 'VGG keeps the seed recipe');
  });
});

describe('source_classes', () => {
  const names = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  it('may not share a class with classes (it would inflate transfer against scratch), naming both and the shared classes', () => {
    assert.throws(
      () => checkSourceClasses(params({ classes: '5-9', source_classes: '0-5' }), names),
      (e: unknown) => e instanceof ParamError && e.param === 'source_classes' && /"source_classes" \("0-5"\) and "classes" \("5-9"\) share class 5 \(Sandal\)/.test(e.message) && /disjoint/.test(e.message),
    );
    assert.throws(
      () => checkSourceClasses(params({ source_classes: 'Bag, Coat' }), names),
      (e: unknown) => e instanceof ParamError && /"classes" \("", all classes\) share classes 8 \(Bag\), 4 \(Coat\)/.test(e.message),
    );
  });
  it('accepts disjoint classes, given by index or by name', () => {
    checkSourceClasses(params({ classes: '5-9', source_classes: '0-4' }), names);
    checkSourceClasses(params({ classes: 'Sandal,Shirt', source_classes: 'Bag, 0' }), names);
    checkSourceClasses(params({ classes: '0-9' }), names);
  });
});

describe('augment parameter', () => {
  it('accepts none, flip, crop and both, in any order', () => {
    assert.deepEqual(params({}).augment, []);
    assert.deepEqual(params({ augment: 'none' }).augment, []);
    assert.deepEqual(params({ augment: 'crop, FLIP' }).augment, ['flip', 'crop']);
  });
  it('names an unknown augmentation', () => {
    assert.throws(
      () => params({ augment: 'flip,rotate' }),
      (e: unknown) => e instanceof ParamError && e.param === 'augment' && /"none" or a comma-separated list of "flip", "crop", got "flip,rotate" \(string\)/.test(e.message),
    );
  });
});
