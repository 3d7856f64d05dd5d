/**
 * The backbone registry: name → spec (spec.ts says what an entry states). Adding a backbone means
 * adding an entry, not code elsewhere.
 */
import { efficientnetLite0 } from './arch/efficientnet-lite.js';
import { efficientnetB0 } from './arch/efficientnet.js';
import { mobilenetV2 } from './arch/mobilenet-v2.js';
import { resnet50 } from './arch/resnet.js';
import { smallCnn, vgg16, vgg19 } from './arch/vgg.js';
import type { BackboneSpec } from './spec.js';

export type { BackboneSpec, BlockSpec, Preprocessing, WeightsSpec } from './spec.js';

export const BACKBONES = {
  vgg16,
  vgg19,
  'small-cnn': smallCnn,
  mobilenet_v2: mobilenetV2,
  resnet50,
  efficientnet_b0: efficientnetB0,
  efficientnet_lite0: efficientnetLite0,
} as const satisfies Record<string, BackboneSpec>;

export type BackboneName = keyof typeof BACKBONES;
export const BACKBONE_NAMES = Object.keys(BACKBONES) as [BackboneName, ...BackboneName[]];

export function getBackbone(name: BackboneName): BackboneSpec {
  return BACKBONES[name];
}
