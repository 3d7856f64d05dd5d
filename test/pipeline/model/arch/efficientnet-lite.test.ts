/**
 * EfficientNet-Lite0's map from the lukemelas-style torch state dict to our layers, and the layout
 * transforms: every weighted layer covered in network order with one tensor per weight, and kernels
 * reordered element for element (OIHW → HWIO, [C,1,kh,kw] → [kh,kw,C,1]).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-node';
import { WeightsError } from '../../../../src/errors.js';
import { efficientnetLite0TorchSources } from '../../../../src/pipeline/model/arch/efficientnet-lite.js';
import { torchToKeras } from '../../../../src/pipeline/model/torch/layout.js';
import { BACKBONES } from '../../../../src/pipeline/model/backbones.js';
import { buildBackbone } from '../../../../src/pipeline/model/build.js';

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);

describe('efficientnetLite0TorchSources', () => {
  it('covers every weighted layer in network order, one tensor per weight, no tensor twice', () => {
    const model = buildBackbone(BACKBONES.efficientnet_lite0, 32, 1);
    const sources = efficientnetLite0TorchSources();
    const weighted = model.layers.filter((l) => l.weights.length > 0);
    assert.deepEqual(sources.map((s) => s.layer), weighted.map((l) => l.name));
    for (const s of sources) assert.equal(s.tensors.length, model.getLayer(s.layer).weights.length, s.layer);
    const names = sources.flatMap((s) => s.tensors.map((t) => t.tensor));
    // 296 tensors in the file: 245 here, the classifier's 2 and 49 BatchNorm counters.
    assert.equal(names.length, 245);
    assert.equal(new Set(names).size, names.length);
    model.dispose();
  });

  it('names tensors as the lukemelas port does, BatchNorm arrays in Keras order', () => {
    const byLayer = new Map(efficientnetLite0TorchSources().map((s) => [s.layer, s.tensors]));
    const bn = (m: string) => ['weight', 'bias', 'running_mean', 'running_var'].map((f) => ({ tensor: `${m}.${f}`, layout: 'vector' }));
    assert.deepEqual(byLayer.get('stem_conv'), [{ tensor: '_conv_stem.weight', layout: 'conv' }]);
    assert.deepEqual(byLayer.get('stem_bn'), bn('_bn0'));
    assert.deepEqual(byLayer.get('block1a_dwconv'), [{ tensor: '_blocks.0._depthwise_conv.weight', layout: 'depthwise' }]);
    assert.deepEqual(byLayer.get('block1a_bn'), bn('_blocks.0._bn1'));
    assert.deepEqual(byLayer.get('block1a_project_bn'), bn('_blocks.0._bn2'));
    assert.equal(byLayer.has('block1a_expand_conv'), false, 'block 0 has no expansion');
    assert.deepEqual(byLayer.get('block2a_expand_conv'), [{ tensor: '_blocks.1._expand_conv.weight', layout: 'conv' }]);
    assert.deepEqual(byLayer.get('block2a_expand_bn'), bn('_blocks.1._bn0'));
    assert.deepEqual(byLayer.get('block4c_project_conv'), [{ tensor: '_blocks.7._project_conv.weight', layout: 'conv' }]);
    assert.deepEqual(byLayer.get('block7a_dwconv'), [{ tensor: '_blocks.15._depthwise_conv.weight', layout: 'depthwise' }]);
    assert.deepEqual(byLayer.get('top_conv'), [{ tensor: '_conv_head.weight', layout: 'conv' }]);
    assert.deepEqual(byLayer.get('top_bn'), bn('_bn1'));
  });
});

describe('torchToKeras', () => {
  it('reorders a conv kernel OIHW → HWIO', () => {
    const [O, I, H, W] = [2, 3, 2, 2];
    const out = torchToKeras('k', [O, I, H, W], iota(O * I * H * W), 'conv');
    assert.deepEqual(out.shape, [H, W, I, O]);
    for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      assert.equal(out.values[((h * W + w) * I + i) * O + o], ((o * I + i) * H + h) * W + w);
    }
  });

  it('reorders a depthwise kernel [C,1,kh,kw] → [kh,kw,C,1]', () => {
    const [C, H, W] = [3, 2, 3];
    const out = torchToKeras('dw', [C, 1, H, W], iota(C * H * W), 'depthwise');
    assert.deepEqual(out.shape, [H, W, C, 1]);
    for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      assert.equal(out.values[(h * W + w) * C + c], (c * H + h) * W + w);
    }
  });

  it('passes vectors through and refuses shapes that do not fit the layout', () => {
    const v = iota(4);
    assert.deepEqual(torchToKeras('v', [4], v, 'vector'), { shape: [4], values: v });
    assert.throws(() => torchToKeras('v', [2, 2], v, 'vector'), WeightsError);
    assert.throws(() => torchToKeras('k', [2, 2], v, 'conv'), WeightsError);
    assert.throws(() => torchToKeras('dw', [2, 2, 1, 1], v, 'depthwise'), /\[C,1,kh,kw\]/);
    assert.throws(() => torchToKeras('k', [1, 1, 2, 3], v, 'conv'), /4 values for shape \[1,1,2,3\]/);
  });
});
