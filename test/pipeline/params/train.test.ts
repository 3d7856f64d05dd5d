import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';

const parse = (raw: Record<string, string>) => parseParams(trainParamsSchema, raw);

function rejects(raw: Record<string, string>, param: string, pattern: RegExp) {
  assert.throws(
    () => parse(raw),
    (e: unknown) => e instanceof ParamError && e.param === param && e.code === 'ERR_PARAM' && pattern.test(e.message),
  );
}

describe('train parameters', () => {
  it("has the seed's defaults", () => {
    const p = parse({});
    assert.equal(p.samples_per_class, 300);
    assert.equal(p.retrained_conv_layers, 0);
    assert.equal(p.use_early_stop, true);
    assert.equal(p.max_epochs, 20);
    assert.equal(p.dataset, 'cifar10');
    assert.equal(p.backbone, 'vgg16');
    assert.equal(p.weights, 'imagenet');
  });

  it('parses MLflow strings explicitly', () => {
    const p = parse({ samples_per_class: ' 30 ', retrained_conv_layers: '2', use_early_stop: '0', learning_rate: '1e-4', max_epochs: '+5' });
    assert.deepEqual(
      [p.samples_per_class, p.retrained_conv_layers, p.use_early_stop, p.learning_rate, p.max_epochs],
      [30, 2, false, 1e-4, 5],
    );
    assert.equal(parse({ use_early_stop: 'true' }).use_early_stop, true);
    assert.equal(parse({ samples_per_class: 'all' }).samples_per_class, 'all');
    assert.equal(parse({ retrained_conv_layers: 'ALL' }).retrained_conv_layers, 'all');
  });

  it('never turns an empty string into 0', () => {
    rejects({ samples_per_class: '' }, 'samples_per_class', /got "" \(string\)/);
    rejects({ max_epochs: ' ' }, 'max_epochs', /whole number from 1/);
    rejects({ learning_rate: '' }, 'learning_rate', /greater than 0/);
  });

  it('treats an empty optional text as absent', () => {
    const p = parse({ data_dir: '', classes: '', output_dir: '' });
    assert.equal(p.data_dir, undefined);
    assert.equal(p.classes, undefined);
    assert.equal(p.output_dir, undefined);
  });

  it('names the parameter, the value and the accepted range', () => {
    rejects({ samples_per_class: 'abc' }, 'samples_per_class', /^Parameter "samples_per_class" must be a whole number from 1 to 1000000, or "all", got "abc" \(string\)$/);
    rejects({ samples_per_class: '0' }, 'samples_per_class', /got "0"/);
    rejects({ retrained_conv_layers: '-1' }, 'retrained_conv_layers', /from 0 to/);
    rejects({ retrained_conv_layers: '1.5' }, 'retrained_conv_layers', /"1.5"/);
    rejects({ use_early_stop: '2' }, 'use_early_stop', /0 or 1/);
    rejects({ learning_rate: '0' }, 'learning_rate', /greater than 0/);
    rejects({ learning_rate: 'NaN' }, 'learning_rate', /"NaN"/);
    rejects({ dropout: '1' }, 'dropout', /up to 0.95/);
    rejects({ backbone: 'resnet' }, 'backbone', /one of "vgg16", "vgg19", "small-cnn", "mobilenet_v2"/);
    rejects({ batch_size: '1e3' }, 'batch_size', /whole number/);
  });

  it('rejects unknown parameters and lists the known ones', () => {
    rejects({ sample_per_class: '3' }, 'sample_per_class', /Unknown parameter "sample_per_class".*samples_per_class/);
  });
});

describe('checkTrainParams', async () => {
  const { checkTrainParams } = await import('../../../src/pipeline/params/check.js');
  const { BACKBONES } = await import('../../../src/pipeline/model/backbones.js');
  it("resolves input_size 0 to the backbone's default", () => {
    assert.equal(checkTrainParams(parse({}), BACKBONES.vgg16).inputSize, 32);
    assert.equal(checkTrainParams(parse({ backbone: 'small-cnn' }), BACKBONES['small-cnn']).inputSize, 28);
    assert.equal(checkTrainParams(parse({ input_size: '64' }), BACKBONES.vgg16).inputSize, 64);
  });
  it('rejects an input smaller than the backbone allows and early stopping without validation', () => {
    assert.throws(() => checkTrainParams(parse({ input_size: '16' }), BACKBONES.vgg16), (e: unknown) => e instanceof ParamError && e.param === 'input_size' && /at least 32 for backbone vgg16/.test(e.message));
    assert.throws(() => checkTrainParams(parse({ validation_fraction: '0' }), BACKBONES.vgg16), (e: unknown) => e instanceof ParamError && e.param === 'validation_fraction');
    assert.equal(checkTrainParams(parse({ validation_fraction: '0', use_early_stop: '0' }), BACKBONES.vgg16).inputSize, 32);
  });
});
