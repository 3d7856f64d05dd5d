import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import {
  LARGE_LABELS_PER_CLASS, SIMILAR_BELOW_PAD, UNRELATED_FROM_PAD, advise, fromScratchAt, lastLayersCount, similarityLevel, sizeLevel,
} from '../../../src/pipeline/recommend/advice.js';

const vgg16 = BACKBONES.vgg16.blocks;
const at = (labelsPerClass: number, pad: number, blocks: typeof vgg16 | typeof BACKBONES['small-cnn']['blocks'] = vgg16) => advise({ labelsPerClass, pad, blocks });

describe('strategy advice (size × similarity → transferkit parameters)', () => {
  it('small & similar: the head on frozen features', () => {
    const a = at(100, 0.4);
    assert.deepEqual([a.size, a.similarity, a.retrainedConvLayers, a.fromScratch], ['small', 'similar', 0, false]);
    assert.deepEqual(a.params, { retrained_conv_layers: '0' });
    assert.match(a.reason, /^100 labels per class is few .*PAD 0\.40 < 1/);
  });

  it('small & different (or unrelated): still only the head, saying the top features fit less well', () => {
    for (const pad of [1.2, 1.95]) {
      const a = at(30, pad);
      assert.deepEqual([a.size, a.retrainedConvLayers, a.fromScratch], ['small', 0, false]);
      assert.deepEqual(a.params, { retrained_conv_layers: '0' });
      assert.match(a.reason, /domains differ.*earlier layers/);
    }
  });

  it('large & similar: the last block (never more than half the conv layers)', () => {
    const a = at(5000, 0.5);
    assert.deepEqual([a.size, a.similarity, a.retrainedConvLayers], ['large', 'similar', 3]);
    assert.deepEqual(a.params, { retrained_conv_layers: '3' });
    assert.match(a.reason, /last 3 conv layers/);
    assert.equal(at(5000, 0.5, BACKBONES['small-cnn'].blocks).retrainedConvLayers, 1);
    assert.match(at(5000, 0.5, BACKBONES['small-cnn'].blocks).reason, /last 1 conv layer with/);
  });

  it('large & different: fine-tune everything from the pretrained weights', () => {
    const a = at(2000, 1.5);
    assert.deepEqual([a.similarity, a.retrainedConvLayers, a.fromScratch], ['different', 'all', false]);
    assert.deepEqual(a.params, { retrained_conv_layers: 'all' });
  });

  it('large & unrelated: still fine-tune from the pretrained weights (the PAD saturates on wide features); from scratch is only a candidate', () => {
    const a = at(6000, 1.97);
    assert.deepEqual([a.similarity, a.retrainedConvLayers, a.fromScratch], ['unrelated', 'all', false]);
    assert.deepEqual(a.params, { retrained_conv_layers: 'all' });
    assert.match(a.reason, /blurred copy.*training from scratch is a pilot candidate/);
    const scratch = fromScratchAt('large', { labelsPerClass: 6000, pad: 1.97, blocks: vgg16 });
    assert.deepEqual(scratch.params, { weights: 'none', retrained_conv_layers: 'all' });
    assert.equal(scratch.fromScratch, true);
    assert.deepEqual(fromScratchAt('large', { labelsPerClass: 6000, pad: 1.97, blocks: BACKBONES.efficientnet_lite0.blocks }).params, { weights: 'none', retrained_blocks: 'all' });
  });

  it('puts each threshold in the upper band', () => {
    assert.equal(sizeLevel(LARGE_LABELS_PER_CLASS - 1), 'small');
    assert.equal(sizeLevel(LARGE_LABELS_PER_CLASS), 'large');
    assert.equal(similarityLevel(SIMILAR_BELOW_PAD - 1e-9), 'similar');
    assert.equal(similarityLevel(SIMILAR_BELOW_PAD), 'different');
    assert.equal(similarityLevel(UNRELATED_FROM_PAD - 1e-9), 'different');
    assert.equal(similarityLevel(UNRELATED_FROM_PAD), 'unrelated');
    assert.equal(similarityLevel(0), 'similar');
    assert.equal(similarityLevel(2), 'unrelated');
  });

  it('counts "the last layers" per backbone', () => {
    assert.equal(lastLayersCount(BACKBONES.vgg16.blocks), 3);
    assert.equal(lastLayersCount(BACKBONES.vgg19.blocks), 4);
    assert.equal(lastLayersCount(BACKBONES['small-cnn'].blocks), 1);
    assert.equal(lastLayersCount([{ name: 'b', end: 'b_pool', convLayers: ['b_conv1'] }]), 1);
  });

  it('is a pure function of its inputs', () => {
    assert.deepEqual(at(100, 1.3), at(100, 1.3));
  });
});

describe('advice for graph backbones', () => {
  it('speaks retrained_blocks (never an ambiguous conv count), naming the last block', () => {
    const blocks = BACKBONES.efficientnet_lite0.blocks;
    const similarLarge = advise({ labelsPerClass: 5000, pad: 0.5, blocks });
    assert.deepEqual(similarLarge.params, { retrained_blocks: '1' });
    assert.match(similarLarge.reason, /last block \(top\)/);
    assert.deepEqual(advise({ labelsPerClass: 5000, pad: 1.5, blocks }).params, { retrained_blocks: 'all' });
    assert.deepEqual(advise({ labelsPerClass: 50, pad: 1.5, blocks }).params, { retrained_conv_layers: '0' });
  });
});
