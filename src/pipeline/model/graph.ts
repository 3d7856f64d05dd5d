/**
 * Walking a functional model's graph: a layer's node 0 is its place in the model it was built for
 * (later nodes are the same layer applied again, e.g. in a cache split or an export wrapper). These
 * helpers re-apply a model's layers to new inputs while keeping its wiring.
 */
import * as tf from '@tensorflow/tfjs';

export function inputsOf(layer: tf.layers.Layer): tf.SymbolicTensor[] {
  return layer.inboundNodes[0]?.inputTensors ?? [];
}

/** For each layer (in topological order), the index of the last layer that reads its output, or -1. */
export function lastReaders(layers: readonly tf.layers.Layer[]): number[] {
  const position = new Map(layers.map((l, i) => [l.name, i]));
  const last = layers.map(() => -1);
  layers.forEach((layer, j) => {
    for (const t of inputsOf(layer)) {
      const i = position.get(t.sourceLayer.name);
      if (i !== undefined) last[i] = Math.max(last[i] ?? -1, j);
    }
  });
  return last;
}

export function outputOf(layer: tf.layers.Layer): tf.SymbolicTensor {
  const out = layer.inboundNodes[0]?.outputTensors;
  const first = out?.[0];
  if (out?.length !== 1 || first === undefined) throw new Error(`layer ${layer.name} does not have one output`);
  return first;
}

/**
 * Applies `layers` (in topological order) again. `mapped` maps the ids of the original tensors to
 * their replacements and must hold every tensor the first layers read; it gains each layer's output.
 */
export function reapply(layers: readonly tf.layers.Layer[], mapped: Map<number, tf.SymbolicTensor>): void {
  for (const layer of layers) {
    const ins = inputsOf(layer).map((t) => {
      const m = mapped.get(t.id);
      if (m === undefined) throw new Error(`layer ${layer.name} reads ${t.name}, which has no replacement`);
      return m;
    });
    const y = layer.apply(ins.length === 1 && ins[0] !== undefined ? ins[0] : ins);
    if (!(y instanceof tf.SymbolicTensor)) throw new Error(`layer ${layer.name} did not give one symbolic output`);
    mapped.set(outputOf(layer).id, y);
  }
}

/** The model's single output after `reapply`. */
export function mappedOutput(model: tf.LayersModel, mapped: ReadonlyMap<number, tf.SymbolicTensor>): tf.SymbolicTensor {
  const out = model.outputs[0];
  const y = out === undefined ? undefined : mapped.get(out.id);
  if (y === undefined) throw new Error(`the output of ${model.name} was not reached`);
  return y;
}

/**
 * The output of layer `name` in the graph of `model` (which may apply the layer in a later node, as a
 * cache split's suffix does), found by walking back from the model's outputs.
 */
export function layerOutputIn(model: tf.LayersModel, name: string): tf.SymbolicTensor {
  const seen = new Set<number>();
  const queue = [...model.outputs];
  for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    if (t.sourceLayer.name === name) return t;
    queue.push(...(t.sourceLayer.inboundNodes[t.nodeIndex]?.inputTensors ?? []));
  }
  throw new Error(`layer ${name} is not in the graph of ${model.name}`);
}
