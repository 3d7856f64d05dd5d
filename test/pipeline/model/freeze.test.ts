import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../../src/errors.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { stackConvLayers } from '../../../src/pipeline/model/spec.js';
import { planFreeze } from '../../../src/pipeline/model/freeze.js';

describe('backbone registry', () => {
  it('names VGG16 and VGG19 layers as keras.applications does', () => {
    const v16 = stackConvLayers(BACKBONES.vgg16) ?? [];
    assert.equal(v16.length, 13);
    assert.equal(v16[0], 'block1_conv1');
    assert.equal(v16.at(-1), 'block5_conv3');
    assert.equal(stackConvLayers(BACKBONES.vgg19)?.length, 16);
    assert.equal(stackConvLayers(BACKBONES.vgg19)?.at(-1), 'block5_conv4');
    assert.deepEqual(BACKBONES['small-cnn'].blocks, [{ name: 'block1', end: 'block1_pool', convLayers: ['block1_conv1', 'block1_conv2'] }]);
  });
  it('carries the official weights URL and MD5', () => {
    const v16 = BACKBONES.vgg16.weights.imagenet;
    const v19 = BACKBONES.vgg19.weights.imagenet;
    assert.ok(v16?.format === 'keras-h5' && v19?.format === 'keras-h5');
    assert.match(v16.url, /^https:\/\/storage\.googleapis\.com\/tensorflow\/keras-applications\/vgg16\/vgg16_weights_tf_dim_ordering_tf_kernels_notop\.h5$/);
    assert.deepEqual(v16.checksum, { algorithm: 'md5', hex: '6d6bbae143d832006294945121d1f1fc' });
    assert.deepEqual(v19.checksum, { algorithm: 'md5', hex: '253f8cb515780f3b799900260a226db6' });
  });
});

describe('planFreeze', () => {
  it('trains the last N conv layers', () => {
    const plan = planFreeze(BACKBONES.vgg16, 2);
    assert.deepEqual(plan.trainable, ['block5_conv2', 'block5_conv3']);
    assert.equal(plan.frozen.length, 11);
    assert.deepEqual(planFreeze(BACKBONES.vgg16, 0).trainable, []);
    assert.equal(planFreeze(BACKBONES.vgg16, 'all').frozen.length, 0);
  });
  it('rejects more layers than the backbone has, naming the count', () => {
    assert.throws(
      () => planFreeze(BACKBONES.vgg16, 14),
      (e: unknown) => e instanceof ParamError && e.param === 'retrained_conv_layers' && /from 0 to 13 \(backbone vgg16 has 13 conv layers\).*got 14/.test(e.message),
    );
  });
});

describe('planFreeze by block', () => {
  it('trains the conv layers of the last N blocks (VGG19: the last block has four)', () => {
    assert.deepEqual(planFreeze(BACKBONES.vgg19, { convLayers: 0, blocks: 1 }).trainable, ['block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4']);
    assert.equal(planFreeze(BACKBONES.vgg16, { convLayers: 0, blocks: 2 }).trainable.length, 6);
    assert.equal(planFreeze(BACKBONES.vgg16, { convLayers: 0, blocks: 'all' }).frozen.length, 0);
  });
  it('rejects a block count out of range and both counts at once, naming the parameters', () => {
    assert.throws(
      () => planFreeze(BACKBONES.vgg19, { convLayers: 0, blocks: 6 }),
      (e: unknown) => e instanceof ParamError && e.param === 'retrained_blocks' && /from 0 to 5 \(backbone vgg19 has 5 blocks\).*got 6/.test(e.message),
    );
    assert.throws(
      () => planFreeze(BACKBONES.vgg16, { convLayers: 2, blocks: 1, names: { convLayers: 'fine_tune_conv_layers', blocks: 'fine_tune_blocks' } }),
      (e: unknown) => e instanceof ParamError && e.param === 'fine_tune_blocks' && /"fine_tune_conv_layers" \(2\) and "fine_tune_blocks" \(1\)/.test(e.message),
    );
  });
});
