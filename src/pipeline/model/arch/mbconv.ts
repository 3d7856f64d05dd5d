/**
 * The EfficientNet family's network, shared by EfficientNetB0 and EfficientNet-Lite0, with Keras's
 * layer names (keras.applications.efficientnet): stem `stem_conv` 3×3/2 + `stem_bn` +
 * `stem_activation`; MBConv blocks `block{stage}{a,b,..}_` = [`expand_conv` 1×1 + `expand_bn` +
 * `expand_activation`] (absent when the expansion is 1), `dwconv` + `bn` + `activation`,
 * [squeeze-excitation `se_squeeze`, `se_reshape`, `se_reduce`, `se_expand`, `se_excite`],
 * `project_conv` 1×1 + `project_bn`, and on stride-1 blocks with equal widths a drop-connect
 * `drop` (rate 0.2·b/16 for the b-th block, one draw per example) and the residual `add`; top
 * `top_conv` 1×1 to 1280 + `top_bn` + `top_activation`. BN epsilon 1e-3, momentum 0.99.
 */
import * as tf from '@tensorflow/tfjs';
import { StepDropout } from '../dropout.js';
import { apply, type BlockSpec, type BuildContext } from '../spec.js';
import { activation as act, add, batchNorm, conv, correctPad, depthwise, zeroPad, type Activation } from './common.js';

export const EPS = 1e-3;
const MOMENTUM = 0.99;
const DROP_CONNECT = 0.2;

export interface MBConvStage {
  readonly kernel: number;
  readonly repeats: number;
  readonly filtersIn: number;
  readonly filtersOut: number;
  readonly expand: number;
  readonly stride: number;
}

/** EfficientNet-B0's stages (Keras DEFAULT_BLOCKS_ARGS); EfficientNet-Lite0 has the same ones. */
export const B0_STAGES: readonly MBConvStage[] = [
  { kernel: 3, repeats: 1, filtersIn: 32, filtersOut: 16, expand: 1, stride: 1 },
  { kernel: 3, repeats: 2, filtersIn: 16, filtersOut: 24, expand: 6, stride: 2 },
  { kernel: 5, repeats: 2, filtersIn: 24, filtersOut: 40, expand: 6, stride: 2 },
  { kernel: 3, repeats: 3, filtersIn: 40, filtersOut: 80, expand: 6, stride: 2 },
  { kernel: 5, repeats: 3, filtersIn: 80, filtersOut: 112, expand: 6, stride: 1 },
  { kernel: 5, repeats: 4, filtersIn: 112, filtersOut: 192, expand: 6, stride: 2 },
  { kernel: 3, repeats: 1, filtersIn: 192, filtersOut: 320, expand: 6, stride: 1 },
];

export interface EfficientNetVariant {
  readonly stages: readonly MBConvStage[];
  readonly activation: Activation;
  /** Squeeze-excitation ratio of the block input width (B0: 0.25); 0 = none (Lite). */
  readonly seRatio: number;
  /**
   * Stride-2 convs: `keras` pads with correct_pad then convolves 'valid' (stem_conv_pad, dwconv_pad
   * layers); `same` uses TF 'SAME' as the TF/TPU originals of Lite do. The two compute the same.
   */
  readonly padding: 'keras' | 'same';
}

/** One MBConv block as built: its name prefix, stage row, stride, input width, and global index. */
export interface MBConvBlock {
  readonly prefix: string;
  readonly stage: MBConvStage;
  readonly stride: number;
  readonly filtersIn: number;
  readonly index: number;
  readonly skip: boolean;
}

export function mbconvBlocks(stages: readonly MBConvStage[]): MBConvBlock[] {
  const out: MBConvBlock[] = [];
  stages.forEach((stage, i) => {
    for (let j = 0; j < stage.repeats; j++) {
      const stride = j === 0 ? stage.stride : 1;
      const filtersIn = j === 0 ? stage.filtersIn : stage.filtersOut;
      const skip = stride === 1 && filtersIn === stage.filtersOut;
      out.push({ prefix: `block${i + 1}${String.fromCharCode(97 + j)}_`, stage, stride, filtersIn, index: out.length, skip });
    }
  });
  return out;
}

/** stem, block1..block7 (one per stage, ending on its last add or projection BN), top. */
export function efficientNetBlockSpecs(stages: readonly MBConvStage[]): BlockSpec[] {
  const blocks = mbconvBlocks(stages);
  const stageEnds = stages.map((_, i) => {
    const last = blocks.filter((b) => b.prefix.startsWith(`block${i + 1}`)).at(-1);
    if (last === undefined) throw new Error(`EfficientNet stage ${i + 1} has no blocks`);
    return { name: `block${i + 1}`, end: `${last.prefix}${last.skip ? 'add' : 'project_bn'}` };
  });
  return [{ name: 'stem', end: 'stem_activation' }, ...stageEnds, { name: 'top', end: 'top_activation' }];
}

function strided(x: tf.SymbolicTensor, v: EfficientNetVariant, stride: number, kernel: number, padName: string): { x: tf.SymbolicTensor; padding: 'same' | 'valid' } {
  if (stride !== 2 || v.padding === 'same') return { x, padding: 'same' };
  return { x: zeroPad(x, padName, correctPad(x, kernel)), padding: 'valid' };
}

function mbconv(inputs: tf.SymbolicTensor, b: MBConvBlock, dropRate: number, v: EfficientNetVariant, ctx: BuildContext): tf.SymbolicTensor {
  const p = b.prefix;
  const filters = b.filtersIn * b.stage.expand;
  let x = inputs;
  if (b.stage.expand !== 1) {
    x = conv(x, { name: `${p}expand_conv`, filters, kernel: 1, padding: 'same', useBias: false, init: 'fanOut' }, ctx);
    x = act(batchNorm(x, `${p}expand_bn`, EPS, MOMENTUM), `${p}expand_activation`, v.activation);
  }
  const dw = strided(x, v, b.stride, b.stage.kernel, `${p}dwconv_pad`);
  x = depthwise(dw.x, { name: `${p}dwconv`, kernel: b.stage.kernel, strides: b.stride, padding: dw.padding, init: 'fanOut' }, ctx);
  x = act(batchNorm(x, `${p}bn`, EPS, MOMENTUM), `${p}activation`, v.activation);
  if (v.seRatio > 0) {
    let se = apply(tf.layers.globalAveragePooling2d({ name: `${p}se_squeeze` }), x);
    se = apply(tf.layers.reshape({ name: `${p}se_reshape`, targetShape: [1, 1, filters] }), se);
    const reduced = Math.max(1, Math.floor(b.filtersIn * v.seRatio));
    se = conv(se, { name: `${p}se_reduce`, filters: reduced, kernel: 1, padding: 'same', activation: v.activation, init: 'fanOut' }, ctx);
    se = conv(se, { name: `${p}se_expand`, filters, kernel: 1, padding: 'same', activation: 'sigmoid', init: 'fanOut' }, ctx);
    // tfjs's Multiply broadcasts [N,H,W,C] × [N,1,1,C] (checked), so Keras's own layer serves.
    x = apply(tf.layers.multiply({ name: `${p}se_excite` }), [x, se]);
  }
  x = conv(x, { name: `${p}project_conv`, filters: b.stage.filtersOut, kernel: 1, padding: 'same', useBias: false, init: 'fanOut' }, ctx);
  x = batchNorm(x, `${p}project_bn`, EPS, MOMENTUM);
  if (!b.skip) return x;
  if (dropRate > 0) {
    // Drop-connect: the whole residual branch of an example is dropped (noise shape [N,1,1,1]).
    x = apply(new StepDropout({ name: `${p}drop`, rate: dropRate, seed: ctx.nextSeed(), noiseShape: [null, 1, 1, 1] }), x);
  }
  return add([x, inputs], `${p}add`);
}

export function efficientNetBuild(v: EfficientNetVariant) {
  return (input: tf.SymbolicTensor, ctx: BuildContext): tf.SymbolicTensor => {
    const first = v.stages[0]?.filtersIn ?? 32;
    const stem = strided(input, v, 2, 3, 'stem_conv_pad');
    let x = conv(stem.x, { name: 'stem_conv', filters: first, kernel: 3, strides: 2, padding: stem.padding, useBias: false, init: 'fanOut' }, ctx);
    x = act(batchNorm(x, 'stem_bn', EPS, MOMENTUM), 'stem_activation', v.activation);
    const blocks = mbconvBlocks(v.stages);
    for (const b of blocks) x = mbconv(x, b, (DROP_CONNECT * b.index) / blocks.length, v, ctx);
    x = conv(x, { name: 'top_conv', filters: 1280, kernel: 1, padding: 'same', useBias: false, init: 'fanOut' }, ctx);
    return act(batchNorm(x, 'top_bn', EPS, MOMENTUM), 'top_activation', v.activation);
  };
}
