/**
 * Test helper: writes a weights-only .h5 in the layout of Keras's official
 * `vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5` (written by Keras 1's `save_weights` with h5py 2)
 * for any block spec, e.g. `[[4, 4], [8]]` = block1 with two convs of 4 filters, block2 with one of 8:
 * - root attribute `layer_names`: fixed-length ASCII strings (`|S<longest>` in h5py), listing `input_1`,
 *   then per block its convs `blockN_convM` and its pool `blockN_pool`;
 * - one group per listed layer, with the attribute `weight_names`: for a conv
 *   `[blockN_convM_W_1:0, blockN_convM_b_1:0]` as fixed-length strings, for the input and the pools an
 *   empty float64 array of shape (0,) (h5py's encoding of an empty list);
 * - in each conv group, contiguous little-endian float32 datasets with those names: the kernel
 *   [k, k, in, out] (tfjs layout) and the bias [out].
 * One difference h5wasm cannot avoid: its fixed-length strings are NULLTERM where h5py writes NULLPAD;
 * readers (h5py, Keras, h5wasm) return the same names.
 * Weights are deterministic pseudo-random (Glorot-uniform-like kernels, small biases).
 */
import h5wasm from 'h5wasm/node';
import type { Group } from 'h5wasm/node';
import { mulberry32 } from '../../src/pipeline/data/sample.js';

/** Conv filters per block. */
export type BlockSpec = readonly (readonly number[])[];

export interface WrittenArray {
  readonly name: string;
  readonly shape: readonly number[];
  readonly values: Float32Array;
}

export interface MadeKerasH5 {
  readonly path: string;
  /** The root `layer_names`, in order. */
  readonly layerNames: readonly string[];
  /** Conv layer name → [kernel, bias] exactly as written. */
  readonly arrays: ReadonlyMap<string, readonly WrittenArray[]>;
}

export interface MakeKerasH5Options {
  /** Channels of the input image (the first kernel's third dimension). Default 3. */
  readonly inputChannels?: number;
  readonly kernelSize?: number;
  readonly seed?: number;
}

/** The layer names of a block spec: the convs, and every layer as listed in `layer_names`. */
export function notopLayerNames(blocks: BlockSpec): { conv: string[]; all: string[] } {
  const conv: string[] = [];
  const all = ['input_1'];
  blocks.forEach((filters, b) => {
    filters.forEach((_, c) => {
      conv.push(`block${b + 1}_conv${c + 1}`);
      all.push(`block${b + 1}_conv${c + 1}`);
    });
    all.push(`block${b + 1}_pool`);
  });
  return { conv, all };
}

export async function makeKerasNotopH5(path: string, blocks: BlockSpec, options: MakeKerasH5Options = {}): Promise<MadeKerasH5> {
  const k = options.kernelSize ?? 3;
  const random = mulberry32(options.seed ?? 1);
  const { all } = notopLayerNames(blocks);
  const arrays = new Map<string, WrittenArray[]>();
  let channels = options.inputChannels ?? 3;
  blocks.forEach((filters, b) => {
    filters.forEach((out, c) => {
      const name = `block${b + 1}_conv${c + 1}`;
      const limit = Math.sqrt(6 / (k * k * (channels + out)));
      arrays.set(name, [
        { name: `${name}_W_1:0`, shape: [k, k, channels, out], values: uniform(random, k * k * channels * out, limit) },
        { name: `${name}_b_1:0`, shape: [out], values: uniform(random, out, 0.1) },
      ]);
      channels = out;
    });
  });

  await h5wasm.ready;
  const file = new h5wasm.File(path, 'w');
  try {
    writeFixedStrings(file, 'layer_names', all);
    for (const layer of all) {
      const group = file.create_group(layer);
      const written = arrays.get(layer) ?? [];
      if (written.length === 0) {
        group.create_attribute('weight_names', new Float64Array(0), [0], '<d');
        continue;
      }
      writeFixedStrings(group, 'weight_names', written.map((a) => a.name));
      for (const a of written) group.create_dataset({ name: a.name, data: a.values, shape: [...a.shape], dtype: '<f' });
    }
  } finally {
    file.close();
  }
  return { path, layerNames: all, arrays };
}

/** Like h5py 2 stored a list of byte strings: fixed-length ASCII, as long as the longest. */
function writeFixedStrings(group: Group, name: string, values: readonly string[]): void {
  const size = Math.max(...values.map((v) => Buffer.byteLength(v, 'ascii')));
  group.create_attribute(name, [...values], [values.length], `A${size}`);
}

function uniform(random: () => number, n: number, limit: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = (random() * 2 - 1) * limit;
  return out;
}

