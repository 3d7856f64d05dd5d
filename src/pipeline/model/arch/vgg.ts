/**
 * Plain conv stacks: VGG16/VGG19 as keras.applications builds them (include_top=False: 3×3 'same'
 * ReLU convolutions named `blockB_convC`, each block closed by a 2×2 max pool `blockB_pool`), and
 * the seed's small MNIST CNN in the same shape. Every layer boundary is a valid cut, and "the last
 * N conv layers" is unambiguous, so these freeze by conv layer as well as by block.
 */
import * as tf from '@tensorflow/tfjs';
import { PREPROCESSING, apply, type BackboneSpec, type BuildContext, kerasNotop } from '../spec.js';

const KERAS_APPS = 'https://storage.googleapis.com/tensorflow/keras-applications';

function convName(b: number, c: number): string {
  return `block${b + 1}_conv${c + 1}`;
}

function stack(filters: readonly (readonly number[])[]) {
  return (input: tf.SymbolicTensor, ctx: BuildContext): tf.SymbolicTensor => {
    let x = input;
    filters.forEach((block, b) => {
      block.forEach((f, c) => {
        const seed = ctx.nextSeed();
        x = apply(tf.layers.conv2d({ name: convName(b, c), filters: f, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }), x);
      });
      ctx.nextSeed(); // the pool took a seed slot in earlier versions: keeps the same initial weights
      x = apply(tf.layers.maxPooling2d({ name: `block${b + 1}_pool`, poolSize: 2, strides: 2 }), x);
    });
    return x;
  };
}

export interface StackArgs {
  readonly name: string;
  readonly description: string;
  readonly filters: readonly (readonly number[])[];
  readonly defaultInputSize: number;
  readonly minInputSize: number;
  readonly preprocessing: BackboneSpec['preprocessing'];
  readonly weights: BackboneSpec['weights'];
  readonly flops: BackboneSpec['flops'];
}

export function stackSpec(a: StackArgs): BackboneSpec {
  return {
    name: a.name,
    description: a.description,
    inputChannels: 3,
    defaultInputSize: a.defaultInputSize,
    minInputSize: a.minInputSize,
    preprocessing: a.preprocessing,
    bnEpsilon: undefined,
    blocks: a.filters.map((block, b) => ({ name: `block${b + 1}`, end: `block${b + 1}_pool`, convLayers: block.map((_, c) => convName(b, c)) })),
    head: 'flatten',
    weights: a.weights,
    flops: a.flops,
    build: stack(a.filters),
  };
}

/** Filters of each conv layer, block by block (also what test support builds Keras-layout files from). */
export const VGG_FILTERS = {
  vgg16: [[64, 64], [128, 128], [256, 256, 256], [512, 512, 512], [512, 512, 512]],
  vgg19: [[64, 64], [128, 128], [256, 256, 256, 256], [512, 512, 512, 512], [512, 512, 512, 512]],
  'small-cnn': [[32, 32]],
} as const;

export const vgg16 = stackSpec({
  name: 'vgg16',
  description: 'VGG16 convolutional base (Simonyan & Zisserman 2014), as keras.applications.VGG16',
  filters: VGG_FILTERS.vgg16,
  defaultInputSize: 32,
  minInputSize: 32,
  preprocessing: PREPROCESSING.caffe,
  weights: {
    imagenet: kerasNotop(`${KERAS_APPS}/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`, { algorithm: 'md5', hex: '6d6bbae143d832006294945121d1f1fc' }),
  },
  flops: { inputSize: 224, gflops: 30.7 },
});

export const vgg19 = stackSpec({
  name: 'vgg19',
  description: 'VGG19 convolutional base, as keras.applications.VGG19',
  filters: VGG_FILTERS.vgg19,
  defaultInputSize: 32,
  minInputSize: 32,
  preprocessing: PREPROCESSING.caffe,
  weights: {
    imagenet: kerasNotop(`${KERAS_APPS}/vgg19/vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`, { algorithm: 'md5', hex: '253f8cb515780f3b799900260a226db6' }),
  },
  flops: { inputSize: 224, gflops: 39.0 },
});

export const smallCnn = stackSpec({
  name: 'small-cnn',
  description: "The seed's MNIST transfer CNN: two 3×3 conv layers of 32 and a 2×2 max pool",
  filters: VGG_FILTERS['small-cnn'],
  defaultInputSize: 28,
  minInputSize: 8,
  preprocessing: PREPROCESSING.unit,
  weights: {},
  flops: { inputSize: 28, gflops: 0.0157 },
});
