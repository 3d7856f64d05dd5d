/**
 * AdaBN (Li et al. 2016, "Revisiting Batch Normalization for practical domain adaptation"): every
 * BatchNorm layer's moving mean and variance are recomputed on unlabelled images of the target
 * domain, every other weight kept. Layer by layer, in the graph's order: a layer's statistics are the
 * per-channel mean and (population, biased) variance of its inputs over every image and position,
 * with the layers before it already adapted. Computed in float64 from per-batch moments (Chan's
 * pairwise combination), the network run in inference mode.
 *
 * Cost: a BN layer needs its input over all the images. The graph is run from the latest point where
 * one tensor carries everything (a block boundary, ../cache/split.ts), whose activations for all the
 * images are kept while they fit `memoryBudgetBytes` (otherwise recomputed from an earlier one): about
 * a block's depth of passes per block, not one pass per layer.
 */
import * as tf from '@tensorflow/tfjs';
import { InternalError } from '../../errors.js';
import type { BatchSource } from '../train/source.js';
import { batchRanges } from '../train/source.js';
import { inputsOf, lastReaders, outputOf } from './graph.js';
import { FreezableBatchNorm } from './layers/batch-norm.js';

/** The model's BatchNorm layers in graph order. */
export function batchNormLayers(model: tf.LayersModel): FreezableBatchNorm[] {
  return model.layers.filter((l): l is FreezableBatchNorm => l instanceof FreezableBatchNorm);
}

export interface AdaBnOptions {
  readonly batchSize: number;
  /** Which BatchNorm layers to adapt (default every one); the others keep their statistics. */
  readonly select?: (layer: FreezableBatchNorm) => boolean;
  /** Bytes of kept activations allowed (default 512 MiB). */
  readonly memoryBudgetBytes?: number;
}

export interface AdaBnResult {
  /** The adapted layers' names, in order. */
  readonly layers: readonly string[];
  /** Images the statistics were computed on. */
  readonly images: number;
}

/** Running per-channel count, mean and sum of squared deviations, in float64. */
class Moments {
  n = 0;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
  constructor(channels: number) {
    this.mean = new Float64Array(channels);
    this.m2 = new Float64Array(channels);
  }

  add(count: number, mean: Float32Array, variance: Float32Array): void {
    const total = this.n + count;
    for (let c = 0; c < this.mean.length; c++) {
      const delta = (mean[c] ?? Number.NaN) - (this.mean[c] ?? 0);
      this.mean[c] = (this.mean[c] ?? 0) + (delta * count) / total;
      this.m2[c] = (this.m2[c] ?? 0) + (variance[c] ?? Number.NaN) * count + (delta * delta * this.n * count) / total;
    }
    this.n = total;
  }
}

/**
 * Indices of layers after which one tensor carries everything the rest of the graph reads (as
 * ../cache/split.ts `cutIndex` decides), in order.
 */
function boundaries(model: tf.LayersModel): number[] {
  const layers = model.layers;
  const lastReader = lastReaders(layers);
  const out: number[] = [];
  let reach = -1;
  layers.forEach((layer, p) => {
    if (reach <= p && layer.getClassName() !== 'InputLayer' && layer.outboundNodes.length > 0) out.push(p);
    reach = Math.max(reach, lastReader[p] ?? -1);
  });
  return out;
}

/** Where the run starts from: the model's input (read from the images) or kept activations of a boundary layer. */
interface Frontier {
  /** Index of the layer whose output this is; -1 for the model's input. */
  readonly at: number;
  readonly tensorId: number;
  /** Kept activations per batch (empty for the model's input). */
  readonly batches: readonly tf.Tensor[];
}

/**
 * Runs layers (from, to) of `model` in inference mode on one batch of the frontier's tensor and
 * returns the tensors `want` (symbolic ids of node 0). Everything else is disposed.
 */
function runBetween(layers: readonly tf.layers.Layer[], from: Frontier, x: tf.Tensor, to: number, want: readonly number[]): tf.Tensor[] {
  return tf.tidy(() => {
    const values = new Map<number, tf.Tensor>([[from.tensorId, x]]);
    for (let i = from.at + 1; i < to; i++) {
      const layer = layers[i];
      if (layer === undefined || layer.getClassName() === 'InputLayer') continue;
      const ins = inputsOf(layer).map((t) => values.get(t.id));
      if (ins.some((t) => t === undefined)) continue; // not on a path from the frontier (another input)
      const defined = ins.filter((t): t is tf.Tensor => t !== undefined);
      const y = layer.apply(defined.length === 1 && defined[0] !== undefined ? defined[0] : defined, { training: false });
      if (!(y instanceof tf.Tensor)) throw new InternalError(`AdaBN: layer ${layer.name} did not give one tensor`);
      values.set(outputOf(layer).id, y);
    }
    return want.map((id) => {
      const t = values.get(id);
      if (t === undefined) throw new InternalError(`AdaBN: a tensor the statistics need was not computed from the frontier`);
      return t;
    });
  });
}

/** Calls `each` with the frontier's tensor for every batch of the images, in order. */
async function eachBatch(frontier: Frontier, images: BatchSource, batchSize: number, each: (x: tf.Tensor) => Promise<void>): Promise<void> {
  if (frontier.at >= 0) {
    for (const x of frontier.batches) await each(x);
    return;
  }
  for (const [start, end] of batchRanges(images.count, batchSize)) {
    const x = images.batch(Int32Array.from({ length: end - start }, (_, i) => start + i));
    try {
      await each(x);
    } finally {
      x.dispose();
    }
  }
}

/** Recomputes the moving statistics of the selected BatchNorm layers of `model` on `images` (the model's input). */
export async function adaptBatchNorm(model: tf.LayersModel, images: BatchSource, o: AdaBnOptions): Promise<AdaBnResult> {
  if (images.count === 0) throw new InternalError('AdaBN needs at least one image');
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || input === undefined) throw new InternalError(`AdaBN: model ${model.name} must have one input`);
  const layers = model.layers;
  const cuts = boundaries(model);
  const budget = o.memoryBudgetBytes ?? 512 * 2 ** 20;
  let frontier: Frontier = { at: -1, tensorId: input.id, batches: [] };
  const adapted: string[] = [];
  try {
    for (const [index, layer] of layers.entries()) {
      if (!(layer instanceof FreezableBatchNorm) || (o.select !== undefined && !o.select(layer))) continue;
      // keep the activations of the latest boundary before this layer, when they fit
      const cut = cuts.filter((c) => c < index).at(-1);
      const cutLayer = cut === undefined ? undefined : layers[cut];
      if (cut !== undefined && cutLayer !== undefined && cut > frontier.at) {
        const t = outputOf(cutLayer);
        const perImage = t.shape.slice(1).reduce<number>((a, d) => a * (d ?? 0), 1) * 4;
        if (perImage * images.count <= budget) {
          const kept: tf.Tensor[] = [];
          const from = frontier;
          try {
            // an old batch is needed only for its successor: freed at once, the peak is one frontier
            // plus one batch, not two frontiers (disposing twice is harmless in tfjs)
            await eachBatch(from, images, o.batchSize, async (x) => {
              kept.push(...runBetween(layers, from, x, cut + 1, [t.id]));
              if (from.at >= 0) x.dispose();
            });
          } catch (error) {
            kept.forEach((k) => k.dispose());
            throw error;
          }
          from.batches.forEach((b) => b.dispose());
          frontier = { at: cut, tensorId: t.id, batches: kept };
        }
      }
      const target = inputsOf(layer)[0];
      if (target === undefined) throw new InternalError(`AdaBN: BatchNorm layer ${layer.name} has no input`);
      const channels = target.shape.at(-1);
      if (typeof channels !== 'number') throw new InternalError(`AdaBN: BatchNorm layer ${layer.name} has an unknown channel count`);
      const moments = new Moments(channels);
      const from = frontier;
      await eachBatch(from, images, o.batchSize, async (x) => {
        let rows = 0;
        const { mean: m, variance: v } = tf.tidy(() => {
          const [y] = runBetween(layers, from, x, index, [target.id]);
          if (y === undefined) throw new InternalError('AdaBN: no input');
          rows = y.size / channels;
          return tf.moments(y, y.shape.map((_, i) => i).slice(0, -1));
        });
        try {
          moments.add(rows, Float32Array.from(await m.data()), Float32Array.from(await v.data()));
        } finally {
          m.dispose();
          v.dispose();
        }
      });
      const mean = tf.tensor1d(Float32Array.from(moments.mean));
      const variance = tf.tensor1d(Float32Array.from(moments.m2, (s) => s / moments.n));
      layer.setMovingStatistics(mean, variance);
      mean.dispose();
      variance.dispose();
      adapted.push(layer.name);
    }
  } finally {
    frontier.batches.forEach((b) => b.dispose());
  }
  return { layers: adapted, images: images.count };
}

/** The moving statistics of `layers`, copied (the caller disposes them with `disposeStatistics`). */
export type BatchNormStatistics = ReadonlyMap<string, { readonly mean: tf.Tensor1D; readonly variance: tf.Tensor1D }>;

export function readStatistics(layers: readonly FreezableBatchNorm[]): BatchNormStatistics {
  return new Map(layers.map((l) => {
    const { mean, variance } = l.movingStatistics();
    return [l.name, { mean: tf.tensor1d(mean.read().dataSync()), variance: tf.tensor1d(variance.read().dataSync()) }];
  }));
}

/** Writes saved statistics into the layers of the same names (every one must be there). */
export function writeStatistics(layers: readonly FreezableBatchNorm[], stats: BatchNormStatistics): void {
  for (const layer of layers) {
    const s = stats.get(layer.name);
    if (s === undefined) throw new InternalError(`AdaBN: no saved statistics for BatchNorm layer ${layer.name}`);
    layer.setMovingStatistics(s.mean, s.variance);
  }
}

export function disposeStatistics(stats: BatchNormStatistics): void {
  stats.forEach((s) => {
    s.mean.dispose();
    s.variance.dispose();
  });
}
