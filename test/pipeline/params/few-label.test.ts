import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { headOf } from '../../../src/pipeline/model/build.js';
import { checkTrainParams } from '../../../src/pipeline/params/check.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import { planRecipe } from '../../../src/pipeline/recipe.js';

const spec = getBackbone('efficientnet_lite0');
const parse = (raw: Record<string, string>) => parseParams(trainParamsSchema, raw);
const check = (raw: Record<string, string>) => checkTrainParams(parse({ backbone: 'efficientnet_lite0', ...raw }), spec);

function rejects(raw: Record<string, string>, param: string, pattern: RegExp) {
  assert.throws(() => check(raw), (e: unknown) => e instanceof ParamError && e.param === param && pattern.test(e.message), `${JSON.stringify(raw)} → ${param}`);
}

describe('label-scarce recipe parameters', () => {
  it('head_solver=ridge: a linear head (auto becomes linear), one solved stage, LP-FT allowed', () => {
    const p = parse({ backbone: 'efficientnet_lite0', head_solver: 'ridge', fine_tune_blocks: '1' });
    check({ head_solver: 'ridge', fine_tune_blocks: '1' });
    assert.equal(headOf(p, spec), 'linear');
    assert.equal(headOf(parse({ head_solver: 'adam' }), spec), 'pooled');
    const recipe = planRecipe(p, spec);
    assert.deepEqual(recipe.stages.map((s) => [s.solver ?? 'adam', s.maxEpochs]), [['ridge', 1], ['adam', 20]]);
  });

  it('head_solver=ridge without a validation split (λ by leave-one-out, or from its prior at 1 label per class)', () => {
    check({ head_solver: 'ridge', validation_fraction: '0', use_early_stop: '0', samples_per_class: '2' });
    check({ head_solver: 'ridge', validation_fraction: '0', use_early_stop: '0', samples_per_class: '1' });
  });

  it('backbone_lr_factor and l2sp_weight with backbone layers that train', () => {
    check({ backbone_lr_factor: '0.1', l2sp_weight: '0.01', fine_tune_blocks: '2' });
    check({ backbone_lr_factor: '0', retrained_blocks: 'all' });
  });

  it('refuses what cannot apply, naming the parameter', () => {
    rejects({ head_solver: 'ridge', head: 'pooled' }, 'head', /"linear" or "auto" with head_solver=ridge.*got "pooled"/);
    rejects({ head_solver: 'ridge', retrained_blocks: '2' }, 'retrained_blocks', /must be 0 with head_solver=ridge.*got 2/);
    rejects({ head_solver: 'ridge', adaptation: 'coral', target_dataset: 'usps' }, 'head_solver', /not available with domain adaptation/);
    rejects({ head: 'linear', target_dataset: 'usps' }, 'head', /not available with domain adaptation/);
    rejects({ tta: 'flip', adaptation: 'dann', target_dataset: 'usps' }, 'tta', /not available with domain adaptation/);
    rejects({ l2sp_weight: '0.1', adaptation: 'dann', target_dataset: 'usps' }, 'l2sp_weight', /not available with domain adaptation/);
    rejects({ backbone_lr_factor: '0.1' }, 'backbone_lr_factor', /acts only while backbone layers train, and this run trains none/);
    rejects({ l2sp_weight: '0.01' }, 'l2sp_weight', /acts only while backbone layers train/);
    rejects({ l2sp_weight: '0.01', retrained_blocks: '1', weights: 'none' }, 'l2sp_weight', /weights=none starts from random ones/);
  });
});
