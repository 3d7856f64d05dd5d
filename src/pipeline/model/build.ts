/**
 * Builds the classifier: the backbone's conv base (layer for layer like keras.applications,
 * include_top=False) followed by the two new dense layers of the seed: Flatten → Dense(ReLU) →
 * Dropout → Dense(softmax). The model is one flat Sequential, so every layer's `trainable` flag is
 * its own (a nested base model would lose it: see shared notes) and the layers can be split at any
 * point for the activation cache.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackboneSpec } from './backbones.js';
import { StepDropout } from './dropout.js';

export interface HeadOptions {
  readonly numClasses: number;
  readonly denseUnits: number;
  readonly dropout: number;
  readonly seed: number;
}

export function convBaseLayers(spec: BackboneSpec, seed: number): tf.layers.Layer[] {
  const layers: tf.layers.Layer[] = [];
  spec.blocks.forEach((filters, b) => {
    filters.forEach((f, c) => {
      layers.push(
        tf.layers.conv2d({
          name: `block${b + 1}_conv${c + 1}`,
          filters: f,
          kernelSize: 3,
          padding: 'same',
          activation: 'relu',
          kernelInitializer: tf.initializers.glorotUniform({ seed: seed + layers.length }),
        }),
      );
    });
    layers.push(tf.layers.maxPooling2d({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2 }));
  });
  return layers;
}

export function headLayers(options: HeadOptions): tf.layers.Layer[] {
  return [
    tf.layers.flatten({ name: 'flatten' }),
    tf.layers.dense({
      name: 'fc1',
      units: options.denseUnits,
      activation: 'relu',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1001 }),
    }),
    new StepDropout({ name: 'dropout', rate: options.dropout, seed: options.seed + 1002 }),
    tf.layers.dense({
      name: 'predictions',
      units: options.numClasses,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: options.seed + 1003 }),
    }),
  ];
}

export function buildClassifier(spec: BackboneSpec, inputSize: number, head: HeadOptions): tf.Sequential {
  const model = tf.sequential({ name: `${spec.name}_transfer` });
  model.add(tf.layers.inputLayer({ name: 'input', inputShape: [inputSize, inputSize, spec.inputChannels] }));
  for (const layer of [...convBaseLayers(spec, head.seed), ...headLayers(head)]) model.add(layer);
  return model;
}
