/**
 * A tiny graph backbone for tests: a BN stem, one residual block (two conv+BN, an add, a ReLU) and a
 * 1×1 top conv with BN, in three blocks. Small enough for fast tests, shaped like the real graph
 * backbones where it matters: BatchNorm everywhere, a residual branch a cut must not split.
 */
import * as tf from '@tensorflow/tfjs';
import { FreezableBatchNorm } from '../../src/pipeline/model/layers/batch-norm.js';
import { PREPROCESSING, apply, type BackboneSpec, type BuildContext } from '../../src/pipeline/model/spec.js';

function convBn(x: tf.SymbolicTensor, name: string, filters: number, kernelSize: number, ctx: BuildContext, relu: boolean): tf.SymbolicTensor {
  let y = apply(tf.layers.conv2d({ name: `${name}_conv`, filters, kernelSize, padding: 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: ctx.nextSeed() }) }), x);
  y = apply(new FreezableBatchNorm({ name: `${name}_bn`, epsilon: 1e-3, momentum: 0.9 }), y);
  return relu ? apply(tf.layers.activation({ name: `${name}_relu`, activation: 'relu' }), y) : y;
}

export const TINY_GRAPH: BackboneSpec = {
  name: 'tiny-graph',
  description: 'test: BN stem, one residual block, BN top',
  inputChannels: 3,
  defaultInputSize: 8,
  minInputSize: 4,
  preprocessing: PREPROCESSING.tf,
  bnEpsilon: 1e-3,
  blocks: [
    { name: 'stem', end: 'stem_relu' },
    { name: 'res1', end: 'res1_out' },
    { name: 'top', end: 'top_relu' },
  ],
  head: 'pooled',
  weights: {},
  flops: { inputSize: 8, gflops: 0 },
  build: (input, ctx) => {
    const stem = convBn(input, 'stem', 6, 3, ctx, true);
    const a = convBn(stem, 'res1_a', 6, 3, ctx, true);
    const b = convBn(a, 'res1_b', 6, 3, ctx, false);
    const sum = apply(tf.layers.add({ name: 'res1_add' }), [stem, b]);
    const out = apply(tf.layers.activation({ name: 'res1_out', activation: 'relu' }), sum);
    return convBn(out, 'top', 8, 1, ctx, true);
  },
};
