/**
 * The strategy table (CS231n, "Transfer Learning": dataset size × domain similarity), as a pure
 * function from the two measurements to a setting in transferkit's own parameters:
 *
 * |                      | similar (PAD < 1.0)         | different (1.0 ≤ PAD < 1.9) | unrelated (PAD ≥ 1.9)        |
 * |----------------------|-----------------------------|-----------------------------|------------------------------|
 * | small (< 1000/class) | retrained_conv_layers=0     | retrained_conv_layers=0     | retrained_conv_layers=0      |
 * | large (≥ 1000/class) | last block (k conv layers)  | retrained_conv_layers=all   | all; from scratch: a pilot   |
 *
 * Thresholds (bench/recommend.ts and bench/recommend-imagenet.ts check them):
 * - LARGE_LABELS_PER_CLASS = 1000, chosen before any benchmark (CS231n gives no number; ImageNet has
 *   ~1,300 per class), and where the measurement on ImageNet features puts it: on frozen
 *   EfficientNet-Lite0 (Fashion-MNIST, 160 px, 3 seeds; bench/results/imagenet-size-threshold.md) the
 *   frozen features' default probe led fine-tuning the last block at 300 labels per class (86.5 ±
 *   0.2% against 85.3 ± 0.7%) and trailed it at 1000 (87.8 ± 0.4% against 88.4 ± 0.4%).
 * - SIMILAR_BELOW_PAD = 1.0: the domain classifier errs on at least one held-out image in four
 *   (ε > 0.25). Measured anchors (small-cnn trained on Fashion-MNIST 0-4, 500 images a domain): a
 *   subset of the source's own classes 0.4, shirts 0.75, classes 5-9 1.45, bags 1.86, footwear 1.94.
 * - UNRELATED_FROM_PAD = 1.9: ε ≤ 2.5%, the frozen features separate the domains almost perfectly.
 *   On ImageNet EfficientNet-Lite0's 1280 features that is common: a blurred copy of Fashion-MNIST
 *   scored PAD 2.00, an mnistm-style blend 1.99, footwear against the other classes 1.98, where an
 *   unshifted copy scored 0.21 (bench/results/recommend-imagenet.md). So the PAD alone never advises
 *   training from scratch: the column fine-tunes every layer, and from scratch is a candidate the
 *   pilot runs check (pretrained weights rarely lose to it: Kornblith et al. 2019; He et al. 2019).
 * "Small & different" would be, in CS231n's words, a classifier on *earlier* layers' features;
 * transferkit's head reads the last block, so the advice stays a head on frozen features and says so.
 */
import type { BackboneSpec } from '../model/backbones.js';

export const LARGE_LABELS_PER_CLASS = 1000;
export const SIMILAR_BELOW_PAD = 1.0;
export const UNRELATED_FROM_PAD = 1.9;

export type SizeLevel = 'small' | 'large';
/** `unknown`: no source images to compare with (ImageNet weights without source_dataset). */
export type SimilarityLevel = 'similar' | 'different' | 'unrelated' | 'unknown';

export interface AdviceInput {
  readonly labelsPerClass: number;
  /** Proxy A-distance between source and target features, in [0, 2]; undefined when not measured. */
  readonly pad: number | undefined;
  /** Conv layers per block of the backbone (BackboneSpec.blocks). */
  readonly blocks: BackboneSpec['blocks'];
}

export interface Advice {
  readonly size: SizeLevel;
  readonly similarity: SimilarityLevel;
  readonly retrainedConvLayers: number | 'all';
  readonly fromScratch: boolean;
  /** The advice as transferkit parameters (strings, as MLflow passes them); other parameters unchanged. */
  readonly params: Readonly<Record<string, string>>;
  readonly reason: string;
}

export function sizeLevel(labelsPerClass: number): SizeLevel {
  return labelsPerClass >= LARGE_LABELS_PER_CLASS ? 'large' : 'small';
}

export function similarityLevel(pad: number | undefined): SimilarityLevel {
  if (pad === undefined) return 'unknown';
  if (pad < SIMILAR_BELOW_PAD) return 'similar';
  return pad < UNRELATED_FROM_PAD ? 'different' : 'unrelated';
}

/** "The last layers": the last block's conv layers, but never more than half of all conv layers (at least 1). */
export function lastLayersCount(blocks: BackboneSpec['blocks']): number {
  const total = blocks.reduce((n, b) => n + (b.convLayers?.length ?? 0), 0);
  const last = blocks.at(-1)?.convLayers?.length ?? 1;
  return Math.max(1, Math.min(last, Math.floor(total / 2)));
}

/** Graph backbones (residual branches) freeze by block: their advice is in retrained_blocks. */
function retrainUnit(blocks: BackboneSpec['blocks']): 'retrained_blocks' | 'retrained_conv_layers' {
  return blocks.some((b) => b.convLayers === undefined) ? 'retrained_blocks' : 'retrained_conv_layers';
}

/** The table's cell at (size, similarity), with its reason; `input` supplies the numbers the reason quotes. */
export function adviceAt(size: SizeLevel, similarity: SimilarityLevel, input: AdviceInput): Advice {
  const n = `${input.labelsPerClass} labels per class`;
  const howMany = size === 'small' ? `${n} is few (< ${LARGE_LABELS_PER_CLASS})` : `${n} is plenty (>= ${LARGE_LABELS_PER_CLASS})`;
  const pad = input.pad === undefined ? '' : `PAD ${input.pad.toFixed(2)}`;
  const unit = retrainUnit(input.blocks);
  const graph = unit === 'retrained_blocks';
  const head = (retrainedConvLayers: number | 'all', fromScratch: boolean, reason: string): Advice => ({
    size,
    similarity,
    retrainedConvLayers,
    fromScratch,
    params: { ...(fromScratch ? { weights: 'none' } : {}), [retrainedConvLayers === 0 ? 'retrained_conv_layers' : unit]: String(retrainedConvLayers) },
    reason,
  });
  if (similarity === 'unknown') {
    const unmeasured = 'the similarity is not measured (no source images to compare with)';
    return size === 'small'
      ? head(0, false, `${howMany}, and every column of the table agrees (${unmeasured}): train only the new head on the frozen features`)
      : head('all', false, `${howMany} and ${unmeasured}: fine-tune every layer from the pretrained weights, which beat frozen features given enough labels on every dataset in Kornblith et al. 2019 (pass source_dataset to measure the similarity)`);
  }
  if (size === 'small') {
    return similarity === 'similar'
      ? head(0, false, `${howMany} and the domains are similar (${pad} < ${SIMILAR_BELOW_PAD}): train only the new head on the frozen features; retraining conv layers would overfit`)
      : head(0, false, `${howMany} and the domains differ (${pad} >= ${SIMILAR_BELOW_PAD}): too few labels to retrain conv layers, so train only the head on the frozen features, and expect less from them than for a similar domain (CS231n would read earlier layers, which transferkit's head cannot)`);
  }
  if (similarity === 'similar' && graph) {
    const last = input.blocks.at(-1)?.name ?? 'last';
    return head(1, false, `${howMany} and the domains are similar (${pad} < ${SIMILAR_BELOW_PAD}): fine-tune the last block (${last}) with the head; the earlier, generic blocks stay frozen`);
  }
  if (similarity === 'similar') {
    const k = lastLayersCount(input.blocks);
    return head(k, false, `${howMany} and the domains are similar (${pad} < ${SIMILAR_BELOW_PAD}): fine-tune the last ${k} conv layer${k === 1 ? '' : 's'} with the head; the earlier, generic layers stay frozen`);
  }
  if (similarity === 'different') {
    return head('all', false, `${howMany} and the domains differ (${pad} >= ${SIMILAR_BELOW_PAD}): fine-tune every layer, starting from the pretrained weights`);
  }
  return head('all', false, `${howMany} and the frozen features tell the domains apart almost perfectly (${pad} >= ${UNRELATED_FROM_PAD}), which on wide pretrained features happens even for a blurred copy of the same images (bench/results/recommend-imagenet.md): fine-tune every layer from the pretrained weights; training from scratch is a pilot candidate`);
}

/** Training from scratch at (size, unrelated): never the table's own pick, a candidate pilots check (./candidates.ts). */
export function fromScratchAt(size: SizeLevel, input: AdviceInput): Advice {
  return {
    size,
    similarity: 'unrelated',
    retrainedConvLayers: 'all',
    fromScratch: true,
    params: { weights: 'none', [retrainUnit(input.blocks)]: 'all' },
    reason: `${input.labelsPerClass} labels per class is plenty and the frozen features tell the domains apart almost perfectly: train from scratch, every layer`,
  };
}

/** The table's cell at the measured point. */
export function advise(input: AdviceInput): Advice {
  return adviceAt(sizeLevel(input.labelsPerClass), similarityLevel(input.pad), input);
}
