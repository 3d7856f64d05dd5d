/**
 * What an adaptation epoch reports: the usual loss/accuracy/val_loss/val_accuracy (`loss` is the
 * total, `class_loss` its cross-entropy part; `accuracy` on the labelled rows), the mean target
 * prediction entropy (every method), the reporting-only target test accuracy, and the method's own
 * numbers: DANN's domain loss, discriminator accuracy and reversal strength λ, the CORAL distance,
 * the pseudo-label selection rate and (reporting only) how many selected pseudo-labels were right.
 * The tracking layer logs every number of an epoch event as a metric at step = epoch.
 */
import { z } from 'zod';
import type { EpochMetrics } from '../train/fit.js';
import type { AdaptationMethod } from './adapt-params.js';

/** Sums over an epoch's steps (per-step means for the loss terms; counts for pseudo-labels). */
export interface StepTotals {
  steps: number;
  loss: number;
  classLoss: number;
  accuracy: number;
  domainLoss: number;
  domainAccuracy: number;
  coral: number;
  lambda: number;
  /** Unlabelled rows seen, selected for a pseudo-label, and selected with the right class. */
  unlabelled: number;
  selected: number;
  selectedCorrect: number;
}

export interface AdaptEpochMetrics extends EpochMetrics {
  readonly class_loss: number;
  /** Mean prediction entropy (nats) on unlabelled target images; label-free. */
  readonly target_entropy: number;
  /** Reporting only: accuracy on a fixed sample of the target test set. Never used to train or select. */
  readonly target_test_accuracy: number;
  readonly domain_loss?: number;
  readonly domain_accuracy?: number;
  readonly dann_lambda?: number;
  readonly coral_distance?: number;
  readonly pseudo_label_rate?: number;
  /** Reporting only: the share of selected pseudo-labels that were right (NaN when none was selected). */
  readonly pseudo_label_accuracy?: number;
}

/** The per-epoch numbers each method logs besides the common ones. */
export const METHOD_METRICS: Readonly<Record<AdaptationMethod, readonly string[]>> = {
  none: [],
  dann: ['domain_loss', 'domain_accuracy', 'dann_lambda'],
  coral: ['coral_distance'],
  pseudo_label: ['pseudo_label_rate', 'pseudo_label_accuracy'],
};

export function epochReport(
  method: AdaptationMethod,
  base: EpochMetrics,
  t: StepTotals,
  extra: { readonly targetEntropy: number; readonly targetTestAccuracy: number },
): AdaptEpochMetrics {
  const mean = (sum: number): number => (t.steps === 0 ? Number.NaN : sum / t.steps);
  const common = { ...base, class_loss: mean(t.classLoss), target_entropy: extra.targetEntropy, target_test_accuracy: extra.targetTestAccuracy };
  switch (method) {
    case 'none':
      return common;
    case 'dann':
      return { ...common, domain_loss: mean(t.domainLoss), domain_accuracy: mean(t.domainAccuracy), dann_lambda: mean(t.lambda) };
    case 'coral':
      return { ...common, coral_distance: mean(t.coral) };
    case 'pseudo_label':
      return {
        ...common,
        pseudo_label_rate: t.unlabelled === 0 ? Number.NaN : t.selected / t.unlabelled,
        pseudo_label_accuracy: t.selected === 0 ? Number.NaN : t.selectedCorrect / t.selected,
      };
  }
}

/** NaN where a method has no value that epoch (e.g. no pseudo-label selected). */
const num = z.union([z.number(), z.nan()]);
const adaptEpochSchema = z.object({
  epoch: num, stage: num, loss: num, accuracy: num, val_loss: num, val_accuracy: num, epoch_seconds: num, time: num,
  class_loss: num, target_entropy: num, target_test_accuracy: num,
  domain_loss: num.optional(), domain_accuracy: num.optional(), dann_lambda: num.optional(), coral_distance: num.optional(),
  pseudo_label_rate: num.optional(), pseudo_label_accuracy: num.optional(),
});

/** A phase's epochs as an adaptation step reported them (checked: a checkpoint carries them as plain records). */
export function adaptEpochs(epochs: readonly EpochMetrics[]): AdaptEpochMetrics[] {
  return epochs.map((e) => {
    const parsed = adaptEpochSchema.parse(e);
    const { domain_loss, domain_accuracy, dann_lambda, coral_distance, pseudo_label_rate, pseudo_label_accuracy, ...common } = parsed;
    const optional = { domain_loss, domain_accuracy, dann_lambda, coral_distance, pseudo_label_rate, pseudo_label_accuracy };
    return { ...common, ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) };
  });
}
