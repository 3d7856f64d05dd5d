/**
 * EfficientNetB0 as keras.applications.EfficientNetB0 builds it with include_top=False (layer names
 * and order in mbconv.ts), except its first layers: Keras puts Rescaling(1/255) and a Normalization
 * with the ImageNet mean and std inside the model; here that is the `torch` preprocessing, applied
 * outside the graph ((x/255 - mean)/std, the same function; the official file's Normalization stores
 * the std as its "variance", tensorflow#49930, so its arrays are not read). The model starts at
 * `stem_conv_pad`.
 */
import { PREPROCESSING, type BackboneSpec, kerasNotop } from '../spec.js';
import { B0_STAGES, EPS, efficientNetBlockSpecs, efficientNetBuild } from './mbconv.js';

export const efficientnetB0: BackboneSpec = {
  name: 'efficientnet_b0',
  description:
    'EfficientNet-B0 (Tan & Le 2019, compound-scaled MBConv with squeeze-excitation and swish), as keras.applications.EfficientNetB0; ImageNet top-1 77.1%',
  inputChannels: 3,
  defaultInputSize: 224,
  // Total stride 32: at 32 the last map is 1×1. The paddings round up, so smaller inputs still build
  // (to 1×1), but Keras refuses sides below 32 and the features are meaningless there.
  minInputSize: 32,
  preprocessing: PREPROCESSING.torch,
  bnEpsilon: EPS,
  blocks: efficientNetBlockSpecs(B0_STAGES),
  head: 'pooled',
  weights: {
    imagenet: kerasNotop('https://storage.googleapis.com/keras-applications/efficientnetb0_notop.h5', { algorithm: 'md5', hex: '50bc09e76180e00e4465e1a485ddc09d' }),
  },
  flops: { inputSize: 224, gflops: 0.769 },
  build: efficientNetBuild({ stages: B0_STAGES, activation: 'swish', seRatio: 0.25, padding: 'keras' }),
};
