import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { headOf } from '../../../src/pipeline/model/build.js';
import { checkTrainParams } from '../../../src/pipeline/params/check.js';
import { chooseHeadSolver } from '../../../src/pipeline/params/head-solver.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import { planRecipe } from '../../../src/pipeline/recipe.js';

const parse = (raw: Record<string, string>) => parseParams(trainParamsSchema, raw);
const lite0 = getBackbone('efficientnet_lite0');

describe('head_solver=auto (the default)', () => {
  it('is the ridge probe on a frozen pretrained graph backbone: linear head, one solved stage', () => {
    const params = parse({ backbone: 'efficientnet_lite0', weights: 'imagenet' });
    assert.equal(params.head_solver, 'auto');
    assert.deepEqual(chooseHeadSolver(params, lite0), { solver: 'ridge', reason: 'auto: frozen pretrained pooled-head backbone, the ridge probe' });
    assert.equal(headOf(params, lite0), 'linear');
    const [stage, ...rest] = planRecipe(params, lite0).stages;
    assert.equal(stage?.solver, 'ridge');
    assert.equal(stage?.maxEpochs, 1);
    assert.equal(rest.length, 0);
    checkTrainParams(params, lite0);
  });

  it('keeps LP-FT: the probe, then the fine-tuning stage with Adam', () => {
    const params = parse({ backbone: 'mobilenet_v2', fine_tune_blocks: '1' });
    const stages = planRecipe(params, getBackbone('mobilenet_v2')).stages;
    assert.deepEqual(stages.map((s) => s.solver ?? 'adam'), ['ridge', 'adam']);
  });

  it('is Adam wherever the probe does not apply or was not measured, and says why', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ backbone: 'vgg16' }, /backbone vgg16 keeps its flatten head/],
      [{ backbone: 'small-cnn', weights: 'none' }, /backbone small-cnn keeps its flatten head/],
      [{ head: 'pooled' }, /head=pooled is trained with Adam/],
      [{ weights: 'none' }, /weights=none/],
      [{ retrained_blocks: '1' }, /stage 1 trains backbone layers/],
      [{ augment: 'flip' }, /augment is on/],
      [{ adaptation: 'coral', target_dataset: 'usps' }, /domain adaptation/],
      [{ validation_fraction: '0', use_early_stop: '0', samples_per_class: 'all' }, /samples_per_class=all: leave-one-out was measured up to 100/],
      [{ validation_fraction: '0', use_early_stop: '0', samples_per_class: '101' }, /samples_per_class=101/],
      [{ dense_units: '512' }, /dense_units=512 given, which only the Adam head uses/],
      [{ dropout: '0.3', max_epochs: '50' }, /dropout=0.3, max_epochs=50 given/],
      [{ learning_rate: '0.01' }, /learning_rate=0.01 given/],
    ];
    for (const [raw, why] of cases) {
      const params = parse({ backbone: 'efficientnet_lite0', ...raw });
      const spec = getBackbone(params.backbone);
      const choice = chooseHeadSolver(params, spec);
      assert.equal(choice.solver, 'adam', JSON.stringify(raw));
      assert.match(choice.reason, why, JSON.stringify(raw));
      assert.notEqual(headOf(params, spec), 'linear', JSON.stringify(raw));
      assert.equal(planRecipe(params, spec).stages[0]?.solver, 'adam', JSON.stringify(raw));
      checkTrainParams(params, spec);
    }
  });

  it('without a validation split: the λ prior at 1 label per class, leave-one-out from 2 to 100', () => {
    for (const k of ['1', '2', '100']) {
      const params = parse({ backbone: 'efficientnet_lite0', validation_fraction: '0', use_early_stop: '0', samples_per_class: k });
      const choice = chooseHeadSolver(params, lite0);
      assert.equal(choice.solver, 'ridge', k);
      assert.equal(/λ from its prior/.test(choice.reason), k === '1', `${k}: ${choice.reason}`);
      assert.equal(planRecipe(params, lite0).stages[0]?.solver, 'ridge', k);
      checkTrainParams(params, lite0);
    }
    // the same 1 label per class trained with Adam when a parameter only Adam uses is given
    const given = parse({ backbone: 'efficientnet_lite0', validation_fraction: '0', use_early_stop: '0', samples_per_class: '1', max_epochs: '30' });
    assert.equal(chooseHeadSolver(given, lite0).solver, 'adam');
  });

  it('a fine-tuning stage uses learning_rate and max_epochs: giving them keeps the probe for stage 1', () => {
    const params = parse({ backbone: 'efficientnet_lite0', fine_tune_blocks: '1', learning_rate: '0.01', max_epochs: '5' });
    assert.equal(chooseHeadSolver(params, lite0).solver, 'ridge');
  });

  it('a source model trained in the run counts as pretrained (weights=none with source_classes)', () => {
    const params = parse({ backbone: 'efficientnet_lite0', weights: 'none', source_classes: '0-4', classes: '5-9' });
    assert.equal(chooseHeadSolver(params, lite0).solver, 'ridge');
  });

  it('an explicit solver is taken as given', () => {
    assert.deepEqual(chooseHeadSolver(parse({ backbone: 'vgg16', head_solver: 'adam' }), getBackbone('vgg16')), { solver: 'adam', reason: 'head_solver=adam' });
    assert.equal(chooseHeadSolver(parse({ backbone: 'efficientnet_lite0', head_solver: 'adam' }), lite0).solver, 'adam');
    assert.equal(headOf(parse({ backbone: 'efficientnet_lite0', head_solver: 'adam' }), lite0), 'pooled');
  });
});
