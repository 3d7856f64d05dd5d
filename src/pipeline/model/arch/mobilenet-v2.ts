/**
 * MobileNetV2 (alpha 1.0) as keras.applications.MobileNetV2 builds it with include_top=False, layer
 * for layer: stem `Conv1` (3×3/2 'same') + `bn_Conv1` + `Conv1_relu`; 17 inverted residual blocks
 * (`expanded_conv_*` for block 0, which has no expansion, then `block_N_*`); top `Conv_1` (1×1 to
 * 1280) + `Conv_1_bn` + `out_relu`. BN epsilon 1e-3, momentum 0.999; ReLU6 as Keras's `ReLU(6.)`;
 * stride-2 depthwise convs are 'valid' after Keras's correct_pad ZeroPadding2D.
 */
import type * as tf from '@tensorflow/tfjs';
import { PREPROCESSING, kerasNotop, type BackboneSpec, type BlockSpec, type BuildContext } from '../spec.js';
import { add, batchNorm, conv, correctPad, depthwise, relu6, zeroPad } from './common.js';

const EPS = 1e-3;
const MOMENTUM = 0.999;

/** Output width, stride of the first block, repeats: the rows of the paper's Table 2 (stages). */
const STAGES: ReadonlyArray<readonly [filters: number, stride: number, repeats: number]> = [
  [16, 1, 1], [24, 2, 2], [32, 2, 3], [64, 2, 4], [96, 1, 3], [160, 2, 3], [320, 1, 1],
];

function prefixOf(blockId: number): string {
  return blockId === 0 ? 'expanded_conv_' : `block_${blockId}_`;
}

function invertedResidual(inputs: tf.SymbolicTensor, filters: number, stride: number, blockId: number, ctx: BuildContext): tf.SymbolicTensor {
  const inChannels = inputs.shape[3];
  if (typeof inChannels !== 'number') throw new Error('MobileNetV2: the channel dimension must be known');
  const p = prefixOf(blockId);
  let x = inputs;
  if (blockId > 0) {
    x = conv(x, { name: `${p}expand`, filters: 6 * inChannels, kernel: 1, padding: 'same', useBias: false }, ctx);
    x = batchNorm(x, `${p}expand_BN`, EPS, MOMENTUM);
    x = relu6(x, `${p}expand_relu`);
  }
  if (stride === 2) x = zeroPad(x, `${p}pad`, correctPad(x, 3));
  x = depthwise(x, { name: `${p}depthwise`, kernel: 3, strides: stride, padding: stride === 1 ? 'same' : 'valid' }, ctx);
  x = batchNorm(x, `${p}depthwise_BN`, EPS, MOMENTUM);
  x = relu6(x, `${p}depthwise_relu`);
  x = conv(x, { name: `${p}project`, filters, kernel: 1, padding: 'same', useBias: false }, ctx);
  x = batchNorm(x, `${p}project_BN`, EPS, MOMENTUM);
  return inChannels === filters && stride === 1 ? add([inputs, x], `${p}add`) : x;
}

function build(input: tf.SymbolicTensor, ctx: BuildContext): tf.SymbolicTensor {
  let x = conv(input, { name: 'Conv1', filters: 32, kernel: 3, strides: 2, padding: 'same', useBias: false }, ctx);
  x = batchNorm(x, 'bn_Conv1', EPS, MOMENTUM);
  x = relu6(x, 'Conv1_relu');
  let blockId = 0;
  for (const [filters, stride, repeats] of STAGES) {
    for (let r = 0; r < repeats; r++) x = invertedResidual(x, filters, r === 0 ? stride : 1, blockId++, ctx);
  }
  x = conv(x, { name: 'Conv_1', filters: 1280, kernel: 1, useBias: false }, ctx);
  x = batchNorm(x, 'Conv_1_bn', EPS, MOMENTUM);
  return relu6(x, 'out_relu');
}

/**
 * stem, then one stage per output width (the blocks of one row of the paper's Table 2), then top.
 * A stage ends on its last residual add, or on the projection BN where its last block has no skip.
 */
const BLOCKS: readonly BlockSpec[] = [
  { name: 'stem', end: 'Conv1_relu' },
  { name: 'stage1', end: 'expanded_conv_project_BN' }, // 16
  { name: 'stage2', end: 'block_2_add' }, // 24: block_1..2
  { name: 'stage3', end: 'block_5_add' }, // 32: block_3..5
  { name: 'stage4', end: 'block_9_add' }, // 64: block_6..9
  { name: 'stage5', end: 'block_12_add' }, // 96: block_10..12
  { name: 'stage6', end: 'block_15_add' }, // 160: block_13..15
  { name: 'stage7', end: 'block_16_project_BN' }, // 320
  { name: 'top', end: 'out_relu' },
];

export const mobilenetV2: BackboneSpec = {
  name: 'mobilenet_v2',
  description:
    'MobileNetV2 1.0 (Sandler et al. 2018, inverted residuals and linear bottlenecks), as keras.applications.MobileNetV2; ImageNet top-1 71.3%',
  inputChannels: 3,
  defaultInputSize: 224,
  // Total stride 32: at 32 the last map is 1×1. 'same'/correct_pad round up, so smaller inputs still
  // build (to 1×1), but Keras refuses sides below 32 and the features are meaningless there.
  minInputSize: 32,
  preprocessing: PREPROCESSING.tf,
  bnEpsilon: EPS,
  blocks: BLOCKS,
  head: 'pooled',
  weights: {
    // Keras publishes no hash for this file: checked by its layers and shapes, sha256 recorded.
    imagenet: kerasNotop('https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5', undefined),
  },
  flops: { inputSize: 224, gflops: 0.599 },
  build,
};
