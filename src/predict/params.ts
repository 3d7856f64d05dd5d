/**
 * `transferkit predict`'s parameters (and the MLproject `predict` entry's). The schema is the type.
 * Inputs come as positional arguments on the command line, or as `input` (one path or dataset:NAME).
 */
import { z } from 'zod';
import { int, oneOf, optionalText, requiredText } from '../pipeline/params/fields.js';

export const predictParamsSchema = z.strictObject({
  model: requiredText('a model folder, runs:/<run id>/model or models:/<name>/<version>'),
  input: optionalText('an image file, a folder of images, or dataset:NAME (the test split of a registry dataset)'),
  output: optionalText('the predictions file (default: predictions.csv, or .json with format=json)'),
  format: oneOf(['csv', 'json'] as const, 'csv'),
  top_k: int(1, 1000, 3),
  batch_size: int(1, 4096, 64),
  data_dir: optionalText('a directory holding the dataset files, for dataset:NAME inputs'),
  classes: optionalText('a class subset of a dataset:NAME input, such as "5-9"'),
  cache_dir: optionalText('a directory for downloads'),
});

export type PredictParams = z.infer<typeof predictParamsSchema>;

/** What each parameter means, for --help and docs/parameters.md. */
export const predictParamDocs: Readonly<Record<keyof typeof predictParamsSchema.shape, string>> = {
  model: 'The model to use: a model folder written by train (out/<run>/model), runs:/<run id>/model or models:/<name>/<version> (looked up on MLFLOW_TRACKING_URI).',
  input: 'What to classify when no inputs follow the flags: an image file, a folder of images (read recursively), or dataset:NAME (its test split, with accuracy).',
  output: 'The predictions file; empty = predictions.csv (predictions.json with format=json) in the current folder.',
  format: 'The predictions file format: one row per image with the top classes and their probabilities.',
  top_k: 'How many classes (with probabilities) per image.',
  batch_size: 'Images per forward pass.',
  data_dir: "A local folder with the dataset's files, for dataset:NAME inputs.",
  classes: 'A class subset of a dataset:NAME input; must be the classes the model was trained on.',
  cache_dir: 'Downloads (datasets, runs:/ and models:/ models); empty = $TRANSFERKIT_CACHE, else ~/.cache/transferkit.',
};
