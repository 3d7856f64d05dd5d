/**
 * The frozen backbone's view of an image, for the similarity measures: the activations of the last
 * conv layer (what the new head and `retrained_conv_layers` work from), global-average-pooled over
 * space into one value per channel (512 for VGG, 32 for small-cnn). Pooling keeps *which* features
 * fire and drops *where*: a linear domain classifier on the flattened map would tell any two datasets
 * apart by layout alone and say little about whether the features carry over.
 */
import * as tf from '@tensorflow/tfjs';
import type { ImageSet } from '../data/types.js';
import type { BackboneSpec } from '../model/backbones.js';
import { buildBackbone } from '../model/build.js';
import { stackConvLayers } from '../model/spec.js';
import { imageBatch } from '../model/input.js';
import { loadBaseWeights, type WeightsSource } from '../model/weights.js';
import { matrix, type Matrix } from './matrix.js';

export interface FeatureExtractor {
  /** The conv layer whose pooled activations are the features. */
  readonly layer: string;
  readonly dim: number;
  /** Fingerprint of the loaded weights (as `train` tags it). */
  readonly weightsFingerprint: string;
  features(set: ImageSet, indices: Int32Array): Promise<Matrix>;
  dispose(): void;
}

const BATCH = 64;

export async function featureExtractor(spec: BackboneSpec, weights: WeightsSource, inputSize: number, seed: number): Promise<FeatureExtractor> {
  const base = buildBackbone(spec, inputSize, seed);
  try {
    const weightsFingerprint = await loadBaseWeights(base, spec, weights);
    // Plain stacks: the last conv layer (before its pool); graph backbones: their last feature map.
    const layer = stackConvLayers(spec)?.at(-1) ?? base.layers.at(-1)?.name ?? '';
    const output = base.getLayer(layer).output;
    if (Array.isArray(output)) throw new Error(`layer ${layer} has several outputs`);
    const dim = output.shape.at(-1);
    if (typeof dim !== 'number') throw new Error(`layer ${layer} has an unknown channel count`);
    const model = tf.model({ inputs: base.inputs, outputs: output });
    const input = { inputSize, preprocessing: spec.preprocessing };
    return {
      layer,
      dim,
      weightsFingerprint,
      async features(set, indices) {
        const out = new Float64Array(indices.length * dim);
        for (let start = 0; start < indices.length; start += BATCH) {
          const batch = indices.subarray(start, Math.min(start + BATCH, indices.length));
          const pooled = tf.tidy(() => {
            const y = model.predict(imageBatch(set, batch, input));
            if (Array.isArray(y)) throw new Error('the feature model gave several outputs');
            return tf.mean(y, [1, 2]);
          });
          out.set(await pooled.data(), start * dim);
          pooled.dispose();
        }
        return matrix(indices.length, dim, out);
      },
      dispose: () => base.dispose(),
    };
  } catch (error) {
    base.dispose();
    throw error;
  }
}
