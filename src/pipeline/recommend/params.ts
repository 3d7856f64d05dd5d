/**
 * The `recommend` entry point's parameters. The target data, backbone and weights are `train`'s own
 * fields (picked from its schema, so names, defaults and messages agree); the rest say where the
 * source domain comes from and how large the similarity sample is. MLproject declares the same
 * names and defaults (a test checks that they agree).
 */
import type { z } from 'zod';
import { trainParamsSchema } from '../params/train.js';
import { int, optionalText } from '../params/fields.js';

export const recommendParamsSchema = trainParamsSchema
  .pick({
    dataset: true,
    data_dir: true,
    classes: true,
    samples_per_class: true,
    backbone: true,
    weights: true,
    input_size: true,
    seed: true,
    output_dir: true,
    cache_dir: true,
    backend: true,
  })
  .extend({
    // The source domain, when `weights` is not a transferkit model folder (which records its own).
    source_dataset: optionalText('the dataset the weights were trained on (cifar10, mnist, fashion-mnist, usps), or the closest one transferkit can load'),
    source_data_dir: optionalText('a directory holding the source dataset files'),
    source_classes: optionalText('a class subset of the source dataset such as "0-4"'),
    // Images per domain for the similarity measures (half train, half test the domain classifier).
    domain_samples: int(20, 10_000, 500),
  });

export type RecommendParams = z.infer<typeof recommendParamsSchema>;
