/**
 * Backbones as data (timm-style): the layers, the input they expect, their preprocessing and where
 * their pretrained weights come from. Adding a backbone means adding an entry here, not code.
 *
 * VGG entries mirror keras.applications (include_top=False): 3×3 'same' ReLU convolutions named
 * `blockB_convC`, each block closed by a 2×2 max pool `blockB_pool`.
 */
export type Preprocessing =
  /** keras.applications.vgg16.preprocess_input: RGB→BGR, minus the ImageNet BGR means, no scaling. */
  | 'caffe'
  /** Pixels scaled to [0, 1]. */
  | 'unit';

export interface PretrainedWeights {
  /** Official download URL (the one Keras itself uses). */
  readonly url: string;
  /** File name in Keras's cache (`~/.keras/models/`), so an existing Keras download is reused. */
  readonly fileName: string;
  /** The MD5 Keras publishes for the file (`file_hash` in keras.applications). */
  readonly md5: string;
}

export interface BackboneSpec {
  readonly name: string;
  readonly description: string;
  /** Filters of each conv layer, block by block. */
  readonly blocks: readonly (readonly number[])[];
  readonly inputChannels: 3;
  readonly defaultInputSize: number;
  /** Smallest input whose spatial size survives every pool (2^blocks). */
  readonly minInputSize: number;
  readonly preprocessing: Preprocessing;
  /** Named pretrained weights; `none` (random init) is always available. */
  readonly weights: Readonly<Record<string, PretrainedWeights>>;
}

const KERAS_APPS = 'https://storage.googleapis.com/tensorflow/keras-applications';

export const BACKBONES = {
  vgg16: {
    name: 'vgg16',
    description: 'VGG16 convolutional base (Simonyan & Zisserman 2014), as keras.applications.VGG16',
    blocks: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
    inputChannels: 3,
    defaultInputSize: 32,
    minInputSize: 32,
    preprocessing: 'caffe',
    weights: {
      imagenet: {
        url: `${KERAS_APPS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`,
        fileName: 'vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5',
        md5: '6d6bbae143d832006294945121d1f1fc',
      },
    },
  },
  vgg19: {
    name: 'vgg19',
    description: 'VGG19 convolutional base, as keras.applications.VGG19',
    blocks: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
    inputChannels: 3,
    defaultInputSize: 32,
    minInputSize: 32,
    preprocessing: 'caffe',
    weights: {
      imagenet: {
        url: `${KERAS_APPS}/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`,
        fileName: 'vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5',
        md5: '253f8cb515780f3b799900260a226db6',
      },
    },
  },
  'small-cnn': {
    name: 'small-cnn',
    description: "The seed's MNIST transfer CNN: two 3×3 conv layers of 32 and a 2×2 max pool",
    blocks: [[32, 32]],
    inputChannels: 3,
    defaultInputSize: 28,
    minInputSize: 8,
    preprocessing: 'unit',
    weights: {},
  },
} as const satisfies Record<string, BackboneSpec>;

export type BackboneName = keyof typeof BACKBONES;
export const BACKBONE_NAMES = Object.keys(BACKBONES) as [BackboneName, ...BackboneName[]];

export function getBackbone(name: BackboneName): BackboneSpec {
  return BACKBONES[name];
}

/** `block1_conv1`, `block1_conv2`, … in network order. */
export function convLayerNames(spec: BackboneSpec): string[] {
  return spec.blocks.flatMap((filters, b) => filters.map((_, c) => `block${b + 1}_conv${c + 1}`));
}

/** The blocks' layer names including the pools, in network order. */
export function baseLayerNames(spec: BackboneSpec): string[] {
  return spec.blocks.flatMap((filters, b) => [
    ...filters.map((_, c) => `block${b + 1}_conv${c + 1}`),
    `block${b + 1}_pool`,
  ]);
}
