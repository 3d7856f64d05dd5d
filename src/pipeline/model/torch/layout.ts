/**
 * Where a torch state dict's tensors go in our layers, as data a backbone entry gives (e.g.
 * arch/efficientnet-lite.ts), and how a tensor is reordered from torch's layout into ours.
 */
import { WeightsError } from '../../../errors.js';

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
