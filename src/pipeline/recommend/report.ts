/**
 * What recommend tells the user: recommendation.json (the advice, every measurement, both domains,
 * the thresholds), the same advice as a few lines of text, and the `transferkit train` command that
 * follows it.
 */
import { VERSION } from '../../version.js';
import { LARGE_LABELS_PER_CLASS, SIMILAR_BELOW_PAD, UNRELATED_FROM_PAD, type Advice } from './advice.js';
import type { Domain } from './domains.js';
import type { MmdResult } from './mmd.js';
import type { PadResult } from './pad.js';
import type { RecommendParams } from './params.js';

export interface Measurements {
  readonly labels_per_class: number;
  readonly labels_by_class: Readonly<Record<string, number>>;
  readonly proxy_a_distance: number;
  readonly domain_classifier_error: number;
  readonly domain_classifier_train_per_domain: number;
  readonly domain_classifier_test_per_domain: number;
  readonly mmd: number;
  readonly mmd2: number;
  readonly mmd_bandwidth: number;
  readonly source_sample_size: number;
  readonly target_sample_size: number;
  readonly feature_layer: string;
  readonly feature_dim: number;
}

export interface Recommendation {
  /** `retrained_conv_layers=0`, `weights=none retrained_conv_layers=all`. */
  readonly setting: string;
  readonly params: Readonly<Record<string, string>>;
  readonly size: Advice['size'];
  readonly similarity: Advice['similarity'];
  readonly reason: string;
  readonly command: string;
}

export interface RecommendReport {
  readonly recommendation: Recommendation;
  readonly measurements: Measurements;
  readonly source: { readonly dataset: string; readonly class_ids: readonly number[]; readonly class_names: readonly string[]; readonly from: string };
  readonly target: { readonly dataset: string; readonly class_ids: readonly number[]; readonly class_names: readonly string[] };
  readonly model: { readonly backbone: string; readonly weights: string; readonly weights_source: string; readonly weights_fingerprint: string; readonly input_size: number };
  readonly thresholds: { readonly large_labels_per_class: number; readonly similar_below_pad: number; readonly unrelated_from_pad: number };
  readonly seconds: number;
  readonly created_by: string;
}

export interface ReportInput {
  readonly params: RecommendParams;
  readonly advice: Advice;
  readonly target: Domain;
  readonly source: Domain & { readonly from: 'model' | 'params' };
  readonly labelsPerClass: number;
  readonly labelsByClass: Readonly<Record<string, number>>;
  readonly pad: PadResult;
  readonly mmd: MmdResult;
  readonly samples: { readonly source: number; readonly target: number };
  readonly features: { readonly layer: string; readonly dim: number };
  readonly weights: { readonly kind: string; readonly fingerprint: string };
  readonly inputSize: number;
  readonly seconds: number;
}

/** A word safe for bash as is, or single-quoted. */
export function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/** `transferkit train ...` with the target's parameters and the advised setting. */
export function trainCommand(params: RecommendParams, advice: Advice): string {
  const given: [string, string | undefined][] = [
    ['dataset', params.dataset],
    ['data_dir', params.data_dir],
    ['classes', params.classes],
    ['samples_per_class', String(params.samples_per_class)],
    ['backbone', params.backbone],
    ['weights', params.weights],
    ['input_size', params.input_size === 0 ? undefined : String(params.input_size)],
    ['retrained_conv_layers', undefined],
    ['retrained_blocks', undefined],
  ];
  const flags = given
    .map(([k, v]): [string, string | undefined] => [k, advice.params[k] ?? v])
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `--${k} ${shellWord(v)}`);
  return `transferkit train ${flags.join(' ')}`;
}

export function buildReport(r: ReportInput): RecommendReport {
  const describe = (d: Domain) => ({ dataset: d.dataset.name, class_ids: [...d.classIds], class_names: [...d.classNames] });
  return {
    recommendation: {
      setting: settingText(r.advice),
      params: r.advice.params,
      size: r.advice.size,
      similarity: r.advice.similarity,
      reason: r.advice.reason,
      command: trainCommand(r.params, r.advice),
    },
    measurements: {
      labels_per_class: r.labelsPerClass,
      labels_by_class: r.labelsByClass,
      proxy_a_distance: r.pad.pad,
      domain_classifier_error: r.pad.error,
      domain_classifier_train_per_domain: r.pad.trainPerDomain,
      domain_classifier_test_per_domain: r.pad.testPerDomain,
      mmd: r.mmd.mmd,
      mmd2: r.mmd.mmd2,
      mmd_bandwidth: r.mmd.bandwidth,
      source_sample_size: r.samples.source,
      target_sample_size: r.samples.target,
      feature_layer: r.features.layer,
      feature_dim: r.features.dim,
    },
    source: { ...describe(r.source), from: r.source.from === 'model' ? 'the model folder\'s transferkit.json' : 'source_dataset/source_classes' },
    target: describe(r.target),
    model: { backbone: r.params.backbone, weights: r.params.weights, weights_source: r.weights.kind, weights_fingerprint: r.weights.fingerprint, input_size: r.inputSize },
    thresholds: { large_labels_per_class: LARGE_LABELS_PER_CLASS, similar_below_pad: SIMILAR_BELOW_PAD, unrelated_from_pad: UNRELATED_FROM_PAD },
    seconds: r.seconds,
    created_by: `transferkit ${VERSION}`,
  };
}

/** The advice as a recommendation line (`retrained_conv_layers=0`, `weights=none retrained_conv_layers=all`). */
export function settingText(advice: Pick<Advice, 'params'>): string {
  return Object.entries(advice.params).map(([k, v]) => `${k}=${v}`).join(' ');
}

export function reportText(report: RecommendReport): string {
  const m = report.measurements;
  const classes = (d: { dataset: string; class_ids: readonly number[] }) => `${d.dataset} classes ${d.class_ids.join(',')}`;
  return [
    `labels per class: ${m.labels_per_class} (${report.recommendation.size})`,
    `domain similarity: proxy A-distance ${m.proxy_a_distance.toFixed(3)} (domain classifier error ${(m.domain_classifier_error * 100).toFixed(1)}%), ` +
      `MMD ${m.mmd.toFixed(3)} (${report.recommendation.similarity}); ${classes(report.source)} vs ${classes(report.target)}, ` +
      `${m.source_sample_size} images each, ${m.feature_dim} pooled features of ${m.feature_layer}`,
    `recommendation: ${report.recommendation.setting}`,
    `reason: ${report.recommendation.reason}`,
    `run it: ${report.recommendation.command}`,
  ].join('\n');
}
