/**
 * The `main` entry point's parameters. The schema is the type; MLproject declares the same names
 * and defaults (a test checks that they agree).
 */
import { z } from 'zod';
import { BACKBONE_NAMES } from '../model/backbones.js';
import { augmentations, flag, resumeSpec, float, int, intOrAll, oneOf, optionalText, registeredModelName, text } from './fields.js';

export const trainParamsSchema = z.strictObject({
  // What to learn from.
  dataset: text('cifar10', 'a dataset name (cifar10, mnist, fashion-mnist, usps) or folder:PATH (a folder of class subfolders of images)'),
  data_dir: optionalText('a directory holding the dataset files'),
  classes: optionalText('a class subset such as "0-4", "5,6,7" or "cat,dog"'),
  samples_per_class: intOrAll(1, 1_000_000, 300),
  validation_fraction: float(0, 0.9, 0.2),
  // The network.
  backbone: oneOf(BACKBONE_NAMES, 'vgg16'),
  weights: text('imagenet', '"imagenet", "none", a Keras .h5 weights file, or a transferkit model directory'),
  input_size: int(0, 1024, 0),
  retrained_conv_layers: intOrAll(0, 1000, 0),
  retrained_blocks: intOrAll(0, 100, 0),
  head: oneOf(['auto', 'flatten', 'pooled'] as const, 'auto'),
  dense_units: int(1, 65_536, 256),
  dropout: float(0, 0.95, 0.5),
  // Training.
  use_early_stop: flag(true),
  patience: int(1, 1000, 3),
  max_epochs: int(1, 100_000, 20),
  learning_rate: float(0, 10, 0.001, true),
  batch_size: int(1, 65_536, 32),
  seed: int(0, 2_147_483_647, 42),
  augment: augmentations(),
  // Stage 2 (feature extraction, then fine-tuning): unfreeze more layers at a smaller learning rate.
  fine_tune_conv_layers: intOrAll(0, 1000, 0),
  fine_tune_blocks: intOrAll(0, 100, 0),
  fine_tune_lr_factor: float(0, 1, 0.1, true),
  fine_tune_epochs: int(0, 100_000, 0),
  // Stage 0 (train on some classes, transfer to others): a source model on `source_classes` first.
  source_classes: optionalText('a class subset such as "0-4" to train the source model on'),
  source_samples_per_class: intOrAll(1, 1_000_000, 'all'),
  source_epochs: int(1, 100_000, 3),
  // Baselines and goals.
  compare_scratch: flag(false),
  goal_accuracy: float(0, 1, 0),
  // Speed.
  activation_cache: oneOf(['auto', 'on', 'off'] as const, 'auto'),
  cache_dtype: oneOf(['float16', 'float32'] as const, 'float16'),
  // Few or no target labels (issue 7, src/pipeline/adapt/): a target domain, its label budget and an
  // adaptation method. `dataset`/`classes` are then the labelled source domain.
  adaptation: oneOf(['none', 'pseudo_label', 'dann', 'coral'] as const, 'none'),
  target_dataset: optionalText('a dataset name as for "dataset" (cifar10, mnist, fashion-mnist, usps) or folder:PATH'),
  target_data_dir: optionalText('a directory holding the target dataset files'),
  target_classes: optionalText('a class subset of the target dataset such as "5-9" (empty: the same as classes)'),
  target_shift: oneOf(['none', 'invert', 'mnistm', 'blur', 'noise'] as const, 'none'),
  target_labels_per_class: int(0, 1_000_000, 0),
  target_unlabeled_samples: intOrAll(1, 10_000_000, 'all'),
  pseudo_label_threshold: float(0, 1, 0.95, true),
  adaptation_weight: float(0, 1000, 1),
  // Where things go.
  output_dir: optionalText('a directory for the model and reports'),
  // MLflow Model Registry: register the run's model as a new version of this model (empty: don't).
  register_model: registeredModelName(),
  cache_dir: optionalText('a directory for downloads'),
  // Crash safety: a checkpoint every epoch; a re-run continues from it.
  checkpoint_dir: optionalText('a directory for checkpoints (default: <output_dir>/checkpoints)'),
  resume: resumeSpec(),
  backend: oneOf(['tensorflow', 'cpu'] as const, 'tensorflow'),
});

export type TrainParams = z.infer<typeof trainParamsSchema>;
/** Raw parameters as MLflow and the CLI pass them: strings, possibly absent. */
export type RawParams = Readonly<Record<string, string | undefined>>;
