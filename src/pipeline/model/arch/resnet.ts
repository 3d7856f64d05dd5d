/**
 * ResNet50 (v1) as keras.applications.ResNet50 builds it with include_top=False, layer for layer:
 * `conv1_pad` (3) → `conv1_conv` 7×7/2 with bias → `conv1_bn` → `conv1_relu` → `pool1_pad` (1) →
 * `pool1_pool` 3×3/2; then stages conv2..conv5 of bottleneck blocks `convS_blockN_{0,1,2,3}_{conv,bn}`
 * (0 = the projection shortcut of a stage's first block), `_add` (shortcut + residual), `_out`
 * (ReLU). As in Keras (and Caffe's original), a block's stride sits on its first 1×1 conv, every conv
 * has a bias, and BN epsilon is 1.001e-5 with Keras's default momentum 0.99.
 */
import * as tf from '@tensorflow/tfjs';
import { PREPROCESSING, apply, type BackboneSpec, type BlockSpec, type BuildContext, kerasNotop } from '../spec.js';
import { activation, add, batchNorm, conv, zeroPad } from './common.js';

const EPS = 1.001e-5;
const MOMENTUM = 0.99;

/** Bottleneck width, blocks, stride of the first block, per stage (conv2..conv5). */
const STAGES: ReadonlyArray<readonly [filters: number, blocks: number, stride: number]> = [
  [64, 3, 1], [128, 4, 2], [256, 6, 2], [512, 3, 2],
];

function residualBlock(x: tf.SymbolicTensor, filters: number, stride: number, convShortcut: boolean, name: string, ctx: BuildContext): tf.SymbolicTensor {
  let shortcut = x;
  if (convShortcut) {
    shortcut = conv(x, { name: `${name}_0_conv`, filters: 4 * filters, kernel: 1, strides: stride }, ctx);
    shortcut = batchNorm(shortcut, `${name}_0_bn`, EPS, MOMENTUM);
  }
  let y = conv(x, { name: `${name}_1_conv`, filters, kernel: 1, strides: stride }, ctx);
  y = batchNorm(y, `${name}_1_bn`, EPS, MOMENTUM);
  y = activation(y, `${name}_1_relu`, 'relu');
  y = conv(y, { name: `${name}_2_conv`, filters, kernel: 3, padding: 'same' }, ctx);
  y = batchNorm(y, `${name}_2_bn`, EPS, MOMENTUM);
  y = activation(y, `${name}_2_relu`, 'relu');
  y = conv(y, { name: `${name}_3_conv`, filters: 4 * filters, kernel: 1 }, ctx);
  y = batchNorm(y, `${name}_3_bn`, EPS, MOMENTUM);
  return activation(add([shortcut, y], `${name}_add`), `${name}_out`, 'relu');
}

function build(input: tf.SymbolicTensor, ctx: BuildContext): tf.SymbolicTensor {
  let x = zeroPad(input, 'conv1_pad', [[3, 3], [3, 3]]);
  x = conv(x, { name: 'conv1_conv', filters: 64, kernel: 7, strides: 2 }, ctx);
  x = batchNorm(x, 'conv1_bn', EPS, MOMENTUM);
  x = activation(x, 'conv1_relu', 'relu');
  x = zeroPad(x, 'pool1_pad', [[1, 1], [1, 1]]);
  x = apply(tf.layers.maxPooling2d({ name: 'pool1_pool', poolSize: 3, strides: 2 }), x);
  STAGES.forEach(([filters, blocks, stride], s) => {
    for (let b = 1; b <= blocks; b++) x = residualBlock(x, filters, b === 1 ? stride : 1, b === 1, `conv${s + 2}_block${b}`, ctx);
  });
  return x;
}

/** The stem (through the max pool), then Keras's stages conv2..conv5, each closed by its last block's ReLU. */
const BLOCKS: readonly BlockSpec[] = [
  { name: 'stem', end: 'pool1_pool' },
  { name: 'conv2', end: 'conv2_block3_out' },
  { name: 'conv3', end: 'conv3_block4_out' },
  { name: 'conv4', end: 'conv4_block6_out' },
  { name: 'conv5', end: 'conv5_block3_out' },
];

export const resnet50: BackboneSpec = {
  name: 'resnet50',
  description: 'ResNet50 v1 (He et al. 2015, deep residual learning), as keras.applications.ResNet50; ImageNet top-1 74.9%',
  inputChannels: 3,
  defaultInputSize: 224,
  // Total stride 32: at 32 the last map is 1×1. The paddings round up, so smaller inputs still build
  // (to 1×1), but Keras refuses sides below 32 and the features are meaningless there.
  minInputSize: 32,
  preprocessing: PREPROCESSING.caffe,
  bnEpsilon: EPS,
  blocks: BLOCKS,
  head: 'pooled',
  weights: {
    imagenet: kerasNotop('https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5', { algorithm: 'md5', hex: '4d473c1dd8becc155b73f8504c6f6626' }),
  },
  flops: { inputSize: 224, gflops: 7.71 },
  build,
};
