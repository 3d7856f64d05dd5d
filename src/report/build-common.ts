/**
 * What both kinds of run report (transfer, adaptation) take from the pipeline the same way: epochs,
 * parameters, the data summary, and writing report.html next to metrics.json.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../fs-atomic.js';
import type { LoadedDataset } from '../pipeline/data/types.js';
import type { Evaluation } from '../pipeline/evaluate.js';
import type { EpochMetrics } from '../pipeline/train/fit.js';
import type { PhaseResult } from '../pipeline/train/stages.js';
import { renderRunReport } from './run-html.js';
import type { ReportEpoch, ReportPhase, RunReportData } from './types.js';

/** The report's file name in the run's output folder (and its artifact path). */
export const REPORT_FILE = 'report.html';

/** Every finite number of an epoch event besides its bookkeeping (epoch, stage, time). */
export function reportEpochs(epochs: readonly EpochMetrics[]): ReportEpoch[] {
  return epochs.map((m) => {
    const values: Record<string, number> = {};
    for (const [k, v] of Object.entries(m)) if (typeof v === 'number' && !['epoch', 'stage', 'time'].includes(k)) values[k] = v;
    return { epoch: m.epoch, stage: m.stage, values };
  });
}

export function reportPhase(key: ReportPhase['key'], title: string, r: PhaseResult): ReportPhase {
  return {
    key,
    title,
    epochs: reportEpochs(r.epochs),
    stages: r.stages.map((s) => ({ stage: s.stage, trainable: [...s.trainable], epochsRun: s.epochsRun, bestEpoch: s.bestEpoch, stoppedEarly: s.stoppedEarly })),
    keptEpoch: r.bestEpoch,
    test: testOf(r.test),
    seconds: r.seconds,
    trainSeconds: r.trainSeconds,
  };
}

export const testOf = (e: Evaluation) => ({ count: e.count, loss: e.loss, accuracy: e.accuracy });

export function fullTestOf(e: Evaluation): RunReportData['test'] {
  return { ...testOf(e), perClassAccuracy: [...e.perClassAccuracy], confusion: e.confusion.map((row) => [...row]) };
}

function paramText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(String).join(',');
  return String(v);
}

/** Parameters as the run used them (given or default, in the schema's order), then the derived ones. */
export function paramsOf(params: object, derived: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) out[k] = paramText(v);
  for (const [k, v] of Object.entries(derived)) out[k] = v;
  return out;
}

export function datasetFacts(d: LoadedDataset): Pick<RunReportData['data'], 'dataset' | 'source' | 'fingerprint' | 'verified' | 'skipped'> {
  return { dataset: d.name, source: d.source, fingerprint: d.fingerprint, verified: d.verified, skipped: d.skipped };
}

/** Tag sentences worth a line at the top of the report. */
export function notesFrom(tags: Readonly<Record<string, string>>, keys: readonly string[]): string[] {
  return keys.map((k) => tags[k]).filter((v): v is string => v !== undefined && v !== '');
}

/** Writes report.html into the output folder and returns its path. */
export async function writeRunReport(outputDir: string, data: RunReportData): Promise<string> {
  const file = join(outputDir, REPORT_FILE);
  await writeFileAtomic(file, renderRunReport(data));
  return file;
}
