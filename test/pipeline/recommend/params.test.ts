import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import type { WeightsSource } from '../../../src/pipeline/model/weights.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import { recommendParamsSchema } from '../../../src/pipeline/recommend/params.js';
import { checkSourceParams, planSource } from '../../../src/pipeline/recommend/source.js';

const parse = (raw: Record<string, string>) => parseParams(recommendParamsSchema, raw);

function rejects(f: () => unknown, param: string, pattern: RegExp) {
  assert.throws(f, (e: unknown) => e instanceof ParamError && e.param === param && e.code === 'ERR_PARAM' && pattern.test(e.message));
}

const transferkitModel: WeightsSource = {
  kind: 'transferkit',
  dir: '/models/src',
  meta: {
    format: 'transferkit-model', version: 1, backbone: 'small-cnn', input_size: 28, preprocessing: 'unit', dataset: 'fashion-mnist',
    class_ids: [0, 1, 2, 3, 4], class_names: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat'], base_weights: 'none', created_by: 'test',
  },
};

describe('recommend parameters', () => {
  it("shares train's fields and defaults, and adds the source and sample ones", () => {
    const p = parse({});
    const t = parseParams(trainParamsSchema, {});
    for (const k of ['dataset', 'samples_per_class', 'backbone', 'weights', 'input_size', 'seed', 'backend'] as const) assert.equal(p[k], t[k], k);
    assert.equal(p.domain_samples, 500);
    assert.equal(p.source_dataset, undefined);
    assert.equal(parse({ source_dataset: '', source_classes: ' ' }).source_classes, undefined);
    assert.equal(parse({ samples_per_class: 'all', domain_samples: '40' }).samples_per_class, 'all');
  });

  it('names the parameter, the value and what is expected', () => {
    rejects(() => parse({ domain_samples: 'abc' }), 'domain_samples', /^Parameter "domain_samples" must be a whole number from 20 to 10000, got "abc" \(string\)$/);
    rejects(() => parse({ domain_samples: '5' }), 'domain_samples', /got "5"/);
    rejects(() => parse({ samples_per_class: '0' }), 'samples_per_class', /or "all", got "0"/);
    rejects(() => parse({ backbone: 'resnet' }), 'backbone', /"vgg16", "vgg19", "small-cnn", "mobilenet_v2", "resnet50", "efficientnet_b0", "efficientnet_lite0", got "resnet"/);
    rejects(() => parse({ max_epochs: '3' }), 'max_epochs', /Unknown parameter "max_epochs".*domain_samples/);
  });
});

describe('the source domain', () => {
  it('refuses weights=none: nothing to transfer', () => {
    rejects(() => checkSourceParams(parse({ weights: 'none', backbone: 'small-cnn' }), BACKBONES['small-cnn']), 'weights', /got "none" \(string\).*from scratch/);
    assert.doesNotThrow(() => checkSourceParams(parse({}), BACKBONES.vgg16));
    // before any download: a source class subset with imagenet weights and no source dataset
    rejects(() => checkSourceParams(parse({ source_classes: '0-4' }), BACKBONES.vgg16), 'source_classes', /needs source_dataset with weights=imagenet/);
    // a path may be a model folder that records its source: decided once the weights are read
    assert.doesNotThrow(() => checkSourceParams(parse({ weights: '/models/src', source_classes: '0-4' }), BACKBONES.vgg16));
  });

  it('has no source for weights=imagenet without source_dataset (the similarity is then not measured)', () => {
    const imagenet: WeightsSource = { kind: 'keras-h5', path: '/cache/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5' }; // planSource reads only its kind
    assert.equal(planSource(parse({}), imagenet), undefined);
    assert.deepEqual(planSource(parse({ source_dataset: 'cifar10' }), imagenet), { dataset: 'cifar10', from: 'params' });
    // a source class subset or folder with no source dataset is a mistake, not ignored
    rejects(() => planSource(parse({ source_classes: '0-4' }), imagenet), 'source_classes', /needs source_dataset with weights=imagenet.*got "0-4"/);
    rejects(() => planSource(parse({ source_data_dir: '/d' }), imagenet), 'source_data_dir', /needs source_dataset.*got "\/d"/);
  });

  it("takes a transferkit model's own dataset and classes", () => {
    assert.deepEqual(planSource(parse({ weights: '/models/src' }), transferkitModel), { dataset: 'fashion-mnist', classes: '0,1,2,3,4', from: 'model' });
    const agreeing = parse({ source_dataset: 'fashion-mnist', source_classes: '0-4', source_data_dir: '/data' });
    assert.deepEqual(planSource(agreeing, transferkitModel), { dataset: 'fashion-mnist', classes: '0,1,2,3,4', from: 'model', dataDir: '/data' });
    const named = parse({ source_classes: 'Coat, Dress, Pullover, Trouser, T-shirt/top' });
    assert.equal(planSource(named, transferkitModel)?.classes, '0,1,2,3,4');
  });

  it("reads the source from the target's data_dir when both are the same dataset", () => {
    const local = parse({ dataset: 'fashion-mnist', data_dir: '/fm' });
    assert.equal(planSource(local, transferkitModel)?.dataDir, '/fm');
    assert.equal(planSource(parse({ dataset: 'mnist', data_dir: '/m' }), transferkitModel)?.dataDir, undefined);
    const h5: WeightsSource = { kind: 'keras-h5', path: '/w.h5' };
    assert.equal(planSource(parse({ dataset: 'cifar10', data_dir: '/c', source_dataset: 'cifar10' }), h5)?.dataDir, '/c');
  });

  it('refuses a source that contradicts the model folder', () => {
    rejects(() => planSource(parse({ source_dataset: 'mnist' }), transferkitModel), 'source_dataset', /must be empty or "fashion-mnist".*trained on fashion-mnist classes 0,1,2,3,4.*got "mnist"/);
    rejects(() => planSource(parse({ source_classes: '5-9' }), transferkitModel), 'source_classes', /must be empty or "0,1,2,3,4".*got "5-9"/);
    rejects(() => planSource(parse({ source_classes: '0-3' }), transferkitModel), 'source_classes', /got "0-3"/);
  });

  it('takes source_dataset for a Keras .h5 file with its classes (none without it)', () => {
    const h5: WeightsSource = { kind: 'keras-h5', path: '/w.h5' };
    assert.equal(planSource(parse({ weights: '/w.h5' }), h5), undefined);
    assert.deepEqual(planSource(parse({ weights: '/w.h5', source_dataset: 'cifar10', source_classes: 'cat,dog' }), h5), { dataset: 'cifar10', classes: 'cat,dog', from: 'params' });
  });
});
