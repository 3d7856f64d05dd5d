/**
 * The `recommend` entry point's parameters. The target data, backbone and weights are `train`'s own
 * fields (picked from its schema, so names, defaults and messages agree); the rest say where the
 * source domain comes from and how large the similarity sample is. MLproject declares the same
 * names and defaults (a test checks that they agree).
 */
import type { z } from 'zod';
import { trainParamDocs, trainParamsSchema } from '../params/train.js';
import { int, oneOf, optionalText } from '../params/fields.js';

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
    // Pilot runs (./pilot.ts) when the table is unsure between settings (./candidates.ts).
    pilot: oneOf(['auto', 'off'] as const, 'auto'),
    pilot_epochs: int(1, 1000, 5),
  });

export type RecommendParams = z.infer<typeof recommendParamsSchema>;

/** What each parameter means (the picked ones as train says), for --help and docs/parameters.md. */
export const recommendParamDocs: Readonly<Record<keyof typeof recommendParamsSchema.shape, string>> = {
  dataset: 'The target data you want to classify: a registry dataset or folder:PATH.',
  data_dir: trainParamDocs.data_dir,
  classes: trainParamDocs.classes,
  samples_per_class: 'Labels per class you have (or plan to have) for the target; the advice depends on it.',
  backbone: trainParamDocs.backbone,
  weights: 'The weights to transfer: "imagenet", a Keras .h5 file, or a transferkit model folder (which records its own source domain).',
  input_size: trainParamDocs.input_size,
  seed: 'Fixes the samples drawn for the similarity measures.',
  output_dir: 'Where recommendation.json goes; empty = out/<MLflow run id>.',
  cache_dir: trainParamDocs.cache_dir,
  backend: trainParamDocs.backend,
  source_dataset: 'The source domain when weights is not a transferkit model folder: the dataset the weights were trained on, or the closest one transferkit can load.',
  source_data_dir: "A local folder with the source dataset's files.",
  source_classes: "The source domain's class subset.",
  domain_samples: 'Images per domain for the similarity measures (half train, half test the domain classifier).',
  pilot: 'When the measurements leave more than one setting plausible (a label budget within a factor 2 of the size threshold, a PAD within 2 standard errors of a similarity threshold, or a large budget without source images), "auto" trains each candidate briefly on 80% of the labelled target images and scores it on the other 20% (never the test set), and switches from the table\'s pick only when another candidate beats it by more than 2 standard errors of the difference; "off" answers from the table alone and lists the candidates.',
  pilot_epochs: "Each pilot run's epoch limit (early stopping on its own validation split still applies).",
};
