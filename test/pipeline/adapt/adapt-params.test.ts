import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import { checkAdabnBackbone, checkAdaptParams, methodOf, usesAdabn, usesAdaptation } from '../../../src/pipeline/adapt/adapt-params.js';
import { getBackbone } from '../../../src/pipeline/model/backbones.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';

const parse = (raw: Record<string, string>) => parseParams(trainParamsSchema, raw);

function paramError(param: string, pattern: RegExp) {
  return (e: unknown) => e instanceof ParamError && e.param === param && pattern.test(e.message);
}

describe('adaptation parameters', () => {
  it('defaults: no adaptation, no target; the normal recipe runs', () => {
    const p = parse({});
    assert.equal(p.adaptation, 'none');
    assert.equal(p.target_dataset, undefined);
    assert.equal(p.target_classes, undefined);
    assert.equal(p.target_shift, 'none');
    assert.equal(p.target_labels_per_class, 0);
    assert.equal(p.target_unlabeled_samples, 'all');
    assert.equal(p.pseudo_label_threshold, 0.95);
    assert.equal(p.adaptation_weight, 1);
    assert.equal(usesAdaptation(p), false);
  });

  it('parses MLflow strings', () => {
    const p = parse({ adaptation: 'DANN', target_dataset: 'fashion-mnist', target_shift: 'mnistm', target_labels_per_class: '10', target_unlabeled_samples: '2000', pseudo_label_threshold: '0.9', adaptation_weight: '0.3' });
    assert.deepEqual(
      [p.adaptation, p.target_dataset, p.target_shift, p.target_labels_per_class, p.target_unlabeled_samples, p.pseudo_label_threshold, p.adaptation_weight],
      ['dann', 'fashion-mnist', 'mnistm', 10, 2000, 0.9, 0.3],
    );
    assert.equal(parse({ target_dataset: '' }).target_dataset, undefined, 'MLflow passes "" for none');
  });

  it('refuses an unknown method, shift or threshold, naming the parameter and what is accepted', () => {
    assert.throws(() => parse({ adaptation: 'mmd' }), paramError('adaptation', /^Parameter "adaptation" must be one of "none", "pseudo_label", "dann", "coral", "adabn", "adabn\+coral", "adabn\+dann", "adabn\+pseudo_label", got "mmd" \(string\)$/));
    assert.throws(() => parse({ target_shift: 'rotate' }), paramError('target_shift', /"invert", "mnistm", "blur", "noise"/));
    assert.throws(() => parse({ pseudo_label_threshold: '0' }), paramError('pseudo_label_threshold', /greater than 0/));
    assert.throws(() => parse({ target_labels_per_class: '-1' }), paramError('target_labels_per_class', /from 0/));
    assert.throws(() => parse({ target_unlabeled_samples: '0' }), paramError('target_unlabeled_samples', /"all"/));
  });

  it('any target parameter (or a changed method knob) takes the adaptation path', () => {
    for (const raw of [{ adaptation: 'coral' }, { target_dataset: 'mnist' }, { target_shift: 'blur' }, { target_labels_per_class: '5' }, { adaptation_weight: '2' }, { pseudo_label_threshold: '0.8' }]) {
      assert.equal(usesAdaptation(parse(raw)), true, JSON.stringify(raw));
    }
  });

  it('an adaptation without a target is refused, naming target_dataset and what was given', () => {
    assert.throws(() => checkAdaptParams(parse({ adaptation: 'dann' })), paramError('target_dataset', /must name the target domain .* adaptation=dann/));
    assert.throws(() => checkAdaptParams(parse({ target_shift: 'invert' })), paramError('target_dataset', /target_shift=invert/));
    checkAdaptParams(parse({ adaptation: 'dann', target_dataset: 'fashion-mnist' }));
  });

  it("refuses the normal recipe's extra phases instead of ignoring them", () => {
    const target = { target_dataset: 'fashion-mnist' };
    assert.throws(() => checkAdaptParams(parse({ ...target, compare_scratch: '1' })), paramError('compare_scratch', /cannot be combined with a target domain/));
    assert.throws(() => checkAdaptParams(parse({ ...target, source_classes: '0-4' })), paramError('source_classes', /model folder as weights/));
    assert.throws(() => checkAdaptParams(parse({ ...target, fine_tune_conv_layers: '2' })), paramError('fine_tune_conv_layers', /one stage/));
    assert.throws(() => checkAdaptParams(parse({ ...target, adaptation: 'coral', batch_size: '1' })), paramError('batch_size', /at least 2 .*coral/));
  });

  it('takes the options every run has: the activation cache, a checkpoint folder, resume', () => {
    const target = { target_dataset: 'fashion-mnist', adaptation: 'coral' };
    checkAdaptParams(parse({ ...target, activation_cache: 'on' }));
    checkAdaptParams(parse({ ...target, checkpoint_dir: '/tmp/ck' }));
    checkAdaptParams(parse({ ...target, resume: 'a'.repeat(32) }));
    checkAdaptParams(parse({ ...target, resume: 'never' }));
  });

  it('adabn alone and combined: the training method and AdaBN read from the value; adabn_samples parsed', () => {
    const cases = [['adabn', 'none'], ['adabn+coral', 'coral'], ['adabn+dann', 'dann'], ['adabn+pseudo_label', 'pseudo_label'], ['coral', 'coral']] as const;
    for (const [value, method] of cases) {
      const p = parse({ adaptation: value, target_dataset: 'fashion-mnist' });
      assert.equal(methodOf(p), method, value);
      assert.equal(usesAdabn(p), value.startsWith('adabn'), value);
    }
    assert.equal(parse({}).adabn_samples, 1000);
    assert.equal(parse({ adabn_samples: 'all' }).adabn_samples, 'all');
    assert.throws(() => parse({ adaptation: 'adabn+mmd' }), paramError('adaptation', /"adabn\+coral"/));
    assert.throws(() => parse({ adabn_samples: '0' }), paramError('adabn_samples', /whole number from 1/));
    assert.equal(usesAdaptation(parse({ adabn_samples: '50' })), true, 'a changed AdaBN knob takes the adaptation path (and then needs a target)');
  });

  it('refuses AdaBN on a backbone without BatchNorm: ERR_PARAM naming the value, the backbone and the backbones that fit', () => {
    for (const name of ['vgg16', 'vgg19', 'small-cnn'] as const) {
      for (const adaptation of ['adabn', 'adabn+coral']) {
        const p = parse({ adaptation, target_dataset: 'fashion-mnist', backbone: name });
        assert.throws(() => checkAdabnBackbone(p, getBackbone(name)), (e: unknown) => {
          assert.ok(e instanceof ParamError);
          assert.equal(e.code, 'ERR_PARAM');
          assert.equal(e.param, 'adaptation');
          assert.match(e.message, new RegExp(`"${adaptation.replace('+', '\\+')}".*backbone ${name} has no BatchNorm layer; expected a backbone with BatchNorm \\(mobilenet_v2, resnet50, efficientnet_b0, efficientnet_lite0\\)`));
          return true;
        });
      }
      checkAdabnBackbone(parse({ adaptation: 'coral', target_dataset: 'fashion-mnist' }), getBackbone(name)); // no AdaBN: fine
    }
    checkAdabnBackbone(parse({ adaptation: 'adabn', target_dataset: 'fashion-mnist' }), getBackbone('efficientnet_lite0'));
  });
});
