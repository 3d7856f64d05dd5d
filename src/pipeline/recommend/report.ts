/**
 * What recommend tells the user: recommendation.json (the advice, every measurement, both domains,
 * the candidates and the pilots' scores, the thresholds) and the `transferkit train` command that
 * follows it; ./report-text.ts prints it as a few lines.
 */
import { VERSION } from '../../version.js';
import { LARGE_LABELS_PER_CLASS, SIMILAR_BELOW_PAD, UNRELATED_FROM_PAD, type Advice } from './advice.js';
import { PAD_SE_MULTIPLE, SIZE_BAND, type Candidates } from './candidates.js';
import { PILOT_SE_MULTIPLE, type PilotChoice } from './pilot-choice.js';
import type { PilotScore } from './pilot.js';
import type { Domain } from './domains.js';
import type { MmdResult } from './mmd.js';
import type { PadResult } from './pad.js';
import type { RecommendParams } from './params.js';
import { settingText } from './setting.js';

export interface Measurements {
  readonly labels_per_class: number;
  readonly labels_by_class: Readonly<Record<string, number>>;
  /** The similarity measures: null when there is no source to compare with. */
  readonly proxy_a_distance: number | null;
  readonly domain_classifier_error: number | null;
  readonly domain_classifier_train_per_domain: number | null;
  readonly domain_classifier_test_per_domain: number | null;
  readonly mmd: number | null;
  readonly mmd2: number | null;
  readonly mmd_bandwidth: number | null;
  readonly source_sample_size: number | null;
  readonly target_sample_size: number | null;
  readonly feature_layer: string | null;
  readonly feature_dim: number | null;
}

export interface Recommendation {
  /** `retrained_conv_layers=0`, `weights=none retrained_conv_layers=all`. */
  readonly setting: string;
  readonly params: Readonly<Record<string, string>>;
  readonly size: Advice['size'];
  readonly similarity: Advice['similarity'];
  readonly reason: string;
  readonly command: string;
  /** `table`: the strategy table's cell (sure, or pilots off); `pilot`: pilot runs checked the candidates. */
  readonly decided_by: 'table' | 'pilot';
  /** Every setting a plausible cell of the table advises (./candidates.ts); one when the table is sure. */
  readonly candidates: readonly string[];
  readonly sure: boolean;
  readonly unsure_because: string;
}

export interface PilotReport {
  /** `ran`; `not needed` (the table is sure); `off` (pilot=off while unsure). */
  readonly status: 'ran' | 'not needed' | 'off';
  readonly epochs: number;
  readonly scores: readonly PilotScore[];
  /** The table's pick and the margin another candidate had to beat it by (./pilot-choice.ts). */
  readonly table_pick: string;
  readonly lead: number | null;
  readonly needed: number | null;
}

export interface RecommendReport {
  readonly recommendation: Recommendation;
  readonly pilot: PilotReport;
  readonly measurements: Measurements;
  readonly source: { readonly dataset: string; readonly class_ids: readonly number[]; readonly class_names: readonly string[]; readonly from: string } | null;
  readonly target: { readonly dataset: string; readonly class_ids: readonly number[]; readonly class_names: readonly string[] };
  readonly model: { readonly backbone: string; readonly weights: string; readonly weights_source: string; readonly weights_fingerprint: string; readonly input_size: number };
  readonly thresholds: { readonly large_labels_per_class: number; readonly similar_below_pad: number; readonly unrelated_from_pad: number; readonly size_band: number; readonly pad_standard_errors: number; readonly pilot_standard_errors: number };
  readonly seconds: number;
  readonly created_by: string;
}

/** What was measured between the domains (absent: no source). */
export interface SimilarityInput {
  readonly source: Domain & { readonly from: 'model' | 'params' };
  readonly pad: PadResult;
  readonly mmd: MmdResult;
  readonly samples: { readonly source: number; readonly target: number };
  readonly features: { readonly layer: string; readonly dim: number };
}

export interface ReportInput {
  readonly params: RecommendParams;
  /** The table's candidates, and what the pilots made of them (absent: no pilots ran). */
  readonly table: Candidates;
  readonly pilot?: { readonly scores: readonly PilotScore[]; readonly choice: PilotChoice };
  readonly target: Domain;
  readonly labelsPerClass: number;
  readonly labelsByClass: Readonly<Record<string, number>>;
  readonly similarity?: SimilarityInput;
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
    // train holds out at least 1 image a class for validation: with 1 label per class every label must train
    ['validation_fraction', params.samples_per_class === 1 ? '0' : undefined],
  ];
  const flags = given
    .map(([k, v]): [string, string | undefined] => [k, advice.params[k] ?? v])
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `--${k} ${shellWord(v)}`);
  return `transferkit train ${flags.join(' ')}`;
}

export function buildReport(r: ReportInput): RecommendReport {
  const describe = (d: Domain) => ({ dataset: d.dataset.name, class_ids: [...d.classIds], class_names: [...d.classNames] });
  const advice = r.pilot?.choice.chosen ?? r.table.advice;
  const sim = r.similarity;
  const pilotStatus = r.pilot !== undefined ? 'ran' : r.table.sure ? 'not needed' : 'off';
  return {
    recommendation: {
      setting: settingText(advice),
      params: advice.params,
      size: advice.size,
      similarity: advice.similarity,
      reason: r.pilot === undefined ? r.table.advice.reason : r.pilot.choice.reason,
      command: trainCommand(r.params, advice),
      decided_by: r.pilot === undefined ? 'table' : 'pilot',
      candidates: r.table.settings.map(settingText),
      sure: r.table.sure,
      unsure_because: r.table.why,
    },
    pilot: {
      status: pilotStatus,
      epochs: r.params.pilot_epochs,
      scores: r.pilot?.scores ?? [],
      table_pick: settingText(r.table.advice),
      lead: r.pilot?.choice.lead ?? null,
      needed: r.pilot?.choice.needed ?? null,
    },
    measurements: {
      labels_per_class: r.labelsPerClass,
      labels_by_class: r.labelsByClass,
      proxy_a_distance: sim?.pad.pad ?? null,
      domain_classifier_error: sim?.pad.error ?? null,
      domain_classifier_train_per_domain: sim?.pad.trainPerDomain ?? null,
      domain_classifier_test_per_domain: sim?.pad.testPerDomain ?? null,
      mmd: sim?.mmd.mmd ?? null,
      mmd2: sim?.mmd.mmd2 ?? null,
      mmd_bandwidth: sim?.mmd.bandwidth ?? null,
      source_sample_size: sim?.samples.source ?? null,
      target_sample_size: sim?.samples.target ?? null,
      feature_layer: sim?.features.layer ?? null,
      feature_dim: sim?.features.dim ?? null,
    },
    source: sim === undefined ? null : { ...describe(sim.source), from: sim.source.from === 'model' ? 'the model folder\'s transferkit.json' : 'source_dataset/source_classes' },
    target: describe(r.target),
    model: { backbone: r.params.backbone, weights: r.params.weights, weights_source: r.weights.kind, weights_fingerprint: r.weights.fingerprint, input_size: r.inputSize },
    thresholds: {
      large_labels_per_class: LARGE_LABELS_PER_CLASS,
      similar_below_pad: SIMILAR_BELOW_PAD,
      unrelated_from_pad: UNRELATED_FROM_PAD,
      size_band: SIZE_BAND,
      pad_standard_errors: PAD_SE_MULTIPLE,
      pilot_standard_errors: PILOT_SE_MULTIPLE,
    },
    seconds: r.seconds,
    created_by: `transferkit ${VERSION}`,
  };
}
