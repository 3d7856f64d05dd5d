/**
 * `transferkit.json`: what a saved model needs to be used again — as a classifier (its input
 * contract and classes), or as the frozen base of another transfer (the seed's MNIST 0-4 → 5-9
 * recipe). Version 2 models take raw RGB pixels: the preprocessing is inside the graph.
 */
import { z } from 'zod';
import { VERSION } from '../../version.js';
import { BACKBONE_NAMES, type BackboneSpec } from '../model/backbones.js';

/** What the exported model takes: raw pixels at its input size, and how images become that. */
export const inputContractSchema = z.object({
  /** [height, width, channels] of one image; the batch dimension comes first and is free. */
  shape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.literal(3)]),
  dtype: z.literal('float32'),
  channels: z.literal('RGB'),
  /** Pixel values as decoded from 8-bit images, not scaled. */
  range: z.tuple([z.literal(0), z.literal(255)]),
  /** Images of another size are resized like this first (as in training). */
  resize: z.string(),
  /** Grayscale images are repeated into 3 channels first. */
  grayscale: z.string(),
  /** The backbone's preprocessing, done by the graph's first layer. */
  preprocessing: z.string(),
  output: z.string(),
});
export type InputContract = z.infer<typeof inputContractSchema>;

export const modelMetaSchema = z.object({
  format: z.literal('transferkit-model'),
  /** 1: preprocessed input (before 0.2); 2: raw RGB pixels, preprocessing in the graph. */
  version: z.union([z.literal(1), z.literal(2)]),
  backbone: z.enum(BACKBONE_NAMES),
  input_size: z.number().int().positive(),
  /** The name of the backbone's preprocessing (model/spec.ts PREPROCESSING). */
  preprocessing: z.string(),
  input: inputContractSchema.optional(),
  dataset: z.string(),
  class_ids: z.array(z.number().int().nonnegative()),
  class_names: z.array(z.string()),
  base_weights: z.string(),
  created_by: z.string(),
});

export type ModelMeta = z.infer<typeof modelMetaSchema>;
export const META_FILE = 'transferkit.json';

export function inputContract(spec: BackboneSpec, inputSize: number): InputContract {
  const p = spec.preprocessing;
  return {
    shape: [inputSize, inputSize, 3],
    dtype: 'float32',
    channels: 'RGB',
    range: [0, 255],
    resize: `bilinear with half-pixel centres (tf.image.resize) to ${inputSize}×${inputSize}, no crop`,
    grayscale: 'repeated into R, G and B',
    preprocessing: `${p.name}: ${p.channels === 'bgr' ? 'RGB→BGR, then ' : ''}x × [${p.scale.map((s) => s.toPrecision(6)).join(', ')}] + [${p.offset.map((o) => o.toPrecision(6)).join(', ')}] per channel, in the layer "preprocess"`,
    output: 'class probabilities (softmax), one per class_names entry, in that order',
  };
}

export interface MetaInput {
  readonly spec: BackboneSpec;
  readonly inputSize: number;
  readonly dataset: string;
  readonly classIds: readonly number[];
  readonly classNames: readonly string[];
  readonly baseWeights: string;
}

export function modelMeta(m: MetaInput): ModelMeta {
  const backbone = BACKBONE_NAMES.find((n) => n === m.spec.name);
  if (backbone === undefined) throw new Error(`backbone ${m.spec.name} is not in the registry`);
  return {
    format: 'transferkit-model',
    version: 2,
    backbone,
    input_size: m.inputSize,
    preprocessing: m.spec.preprocessing.name,
    input: inputContract(m.spec, m.inputSize),
    dataset: m.dataset,
    class_ids: [...m.classIds],
    class_names: [...m.classNames],
    base_weights: m.baseWeights,
    created_by: `transferkit ${VERSION}`,
  };
}
