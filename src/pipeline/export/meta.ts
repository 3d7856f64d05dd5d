/**
 * `transferkit.json`: what a saved model needs to be used again — as a classifier, or as the frozen
 * base of another transfer (the seed's MNIST 0-4 → 5-9 recipe).
 */
import { z } from 'zod';
import { BACKBONE_NAMES } from '../model/backbones.js';

export const modelMetaSchema = z.object({
  format: z.literal('transferkit-model'),
  version: z.literal(1),
  backbone: z.enum(BACKBONE_NAMES),
  input_size: z.number().int().positive(),
  /** The name of the backbone's preprocessing (model/spec.ts PREPROCESSING). */
  preprocessing: z.string(),
  dataset: z.string(),
  class_ids: z.array(z.number().int().nonnegative()),
  class_names: z.array(z.string()),
  base_weights: z.string(),
  created_by: z.string(),
});

export type ModelMeta = z.infer<typeof modelMetaSchema>;
export const META_FILE = 'transferkit.json';
