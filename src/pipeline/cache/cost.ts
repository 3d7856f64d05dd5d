/**
 * Whether caching a frozen prefix pays. Caching costs a pass over the data plus hashing, storing and
 * reading back the activations; it saves recomputing the prefix every epoch. For a deep prefix
 * (VGG16 at 32×32: ~313 MFLOP per image) the cache made a 20-epoch run 5× faster end to end; for
 * the seed's small MNIST CNN (~16 MFLOP per image, one conv block) a sweep ran 31.5 s without the
 * cache and 46.7 s with it (issue 4/5 notes): per-op overhead, not arithmetic, dominates there.
 * `auto` therefore caches only prefixes above CHEAP_PREFIX_FLOPS per image; `on` always caches.
 */
import type * as tf from '@tensorflow/tfjs';

/** Below this many FLOPs per image the prefix is recomputed rather than cached (policy `auto`). */
export const CHEAP_PREFIX_FLOPS = 50e6;

/** Per-example dimensions of a single-tensor shape (batch dimension dropped), else undefined. */
function dims(shape: readonly unknown[]): number[] | undefined {
  const out: number[] = [];
  for (const d of shape.slice(1)) {
    if (typeof d === 'number') out.push(d);
    else if (d === null) out.push(0);
    else return undefined;
  }
  return out;
}

function kernelSize(config: tf.serialization.ConfigDict): [number, number] {
  const kernel = config['kernelSize'];
  const [kh = 1, kw = 1] = Array.isArray(kernel) ? kernel.map(Number) : [Number(kernel), Number(kernel)];
  return [kh, kw];
}

/**
 * Multiply-add FLOPs (2 per MAC) of a model's Conv2D, DepthwiseConv2D and Dense layers for one
 * example; elementwise layers (BatchNorm, activations, adds) are not counted. Shapes come from each
 * layer's first inbound node (its place in the model it was built in): `layer.input` throws for a
 * layer with several nodes, as the classifier's layers have once a split prefix reuses them.
 */
export function modelFlops(model: tf.LayersModel): number {
  let flops = 0;
  for (const layer of model.layers) {
    const node = layer.inboundNodes[0];
    const input = node?.inputTensors;
    const output = node?.outputTensors;
    if (input?.length !== 1 || output?.length !== 1 || input[0] === undefined || output[0] === undefined) continue;
    const out = dims(output[0].shape);
    const inn = dims(input[0].shape);
    if (out === undefined || inn === undefined) continue;
    const outSize = out.reduce((a, b) => a * b, 1);
    const cls = layer.getClassName();
    if (cls === 'Conv2D') {
      const [kh, kw] = kernelSize(layer.getConfig());
      flops += outSize * kh * kw * (inn.at(-1) ?? 0) * 2;
    } else if (cls === 'DepthwiseConv2D') {
      // Each output channel reads one input channel: kh·kw MACs per output value.
      const [kh, kw] = kernelSize(layer.getConfig());
      flops += outSize * kh * kw * 2;
    } else if (cls === 'Dense') {
      flops += (inn.at(-1) ?? 0) * (out.at(-1) ?? 0) * 2;
    }
  }
  return flops;
}
