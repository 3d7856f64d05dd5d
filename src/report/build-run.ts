/**
 * report.html of a normal (transfer) run, from what runTraining has at its end: the phases' results,
 * the prepared data, the parameters and the RunFinished it returns.
 */
import type { RunFinished } from '../pipeline/events.js';
import type { TrainParams } from '../pipeline/params/train.js';
import type { PreparedData } from '../pipeline/prepare-data.js';
import type { PhaseResult } from '../pipeline/train/stages.js';
import { VERSION } from '../version.js';
import { datasetFacts, fullTestOf, notesFrom, paramsOf, reportPhase, testOf, writeRunReport } from './build-common.js';
import { mistakesOf } from './gallery.js';
import type { ReportTiming, RunReportData } from './types.js';

export interface TransferReportInput {
  readonly params: TrainParams;
  readonly data: PreparedData;
  /** The source model's data (source→target recipes). */
  readonly sourceData?: PreparedData | undefined;
  readonly target: PhaseResult;
  readonly source?: PhaseResult | undefined;
  readonly scratch?: PhaseResult | undefined;
  readonly finished: RunFinished;
  readonly runId?: string | undefined;
  readonly now: () => number;
}

function phaseTimings(title: string, r: PhaseResult): ReportTiming[] {
  const cache = r.cacheTags['transferkit.activation_cache'] ?? 'off';
  const cached = !/^(off|not applicable)/.test(cache);
  return [
    { label: `${title}: training`, seconds: r.trainSeconds, note: 'optimizer steps and the validation pass of every epoch' },
    cached
      ? { label: `${title}: activation cache and test evaluation`, seconds: Math.max(0, r.seconds - r.trainSeconds), note: `building or reading the cached activations (${cache}), evaluating the test set` }
      : { label: `${title}: test evaluation`, seconds: Math.max(0, r.seconds - r.trainSeconds), note: `activation cache ${cache.split(' (')[0] ?? cache}` },
  ];
}

export function transferTimings(i: Pick<TransferReportInput, 'target' | 'source' | 'scratch' | 'finished'>): ReportTiming[] {
  const phases: Array<[string, PhaseResult | undefined]> = [['source model', i.source], ['this model', i.target], ['from scratch', i.scratch]];
  const rows = phases.flatMap(([t, r]) => (r === undefined ? [] : phaseTimings(t, r)));
  const inPhases = phases.reduce((s, [, r]) => s + (r?.seconds ?? 0), 0);
  const saved = Number(i.finished.tags['transferkit.activation_cache_seconds_saved'] ?? Number.NaN);
  return [
    ...rows,
    { label: 'data, weights, export and the rest', seconds: Math.max(0, i.finished.totalSeconds - inPhases) },
    { label: 'whole run', seconds: i.finished.totalSeconds, ...(i.finished.resumed === true ? { note: 'continued from a checkpoint: this process only' } : {}) },
    ...(Number.isFinite(saved) && saved > 0 ? [{ label: 'saved by the activation cache', seconds: saved, note: 'estimated time the frozen layers would have taken otherwise' }] : []),
  ];
}

export async function transferReportData(i: TransferReportInput): Promise<RunReportData> {
  const { data, finished } = i;
  const counts: Array<[string, number]> = [['training', data.train.count], ['validation', data.validation.count], ['test', data.test.count]];
  const notes: string[] = [];
  if (i.sourceData !== undefined) {
    notes.push(
      `Source model: classes ${i.sourceData.classNames.join(', ')} (${i.sourceData.train.count} training, ${i.sourceData.validation.count} validation, ${i.sourceData.test.count} test images).`,
    );
  }
  return {
    title: `transferkit run: ${data.dataset.name}, ${i.params.backbone}`,
    createdAt: new Date(i.now()).toISOString(),
    version: VERSION,
    runId: i.runId,
    classNames: data.classNames,
    test: fullTestOf(finished.test),
    epochsRun: i.target.epochs.length,
    keptEpoch: i.target.bestEpoch,
    stoppedEarly: i.target.stoppedEarly,
    phases: [
      reportPhase('target', 'This model', i.target),
      ...(i.source === undefined ? [] : [reportPhase('source', 'Source model (its own classes)', i.source)]),
      ...(i.scratch === undefined ? [] : [reportPhase('scratch', 'Baseline: the same network from scratch', i.scratch)]),
    ],
    comparison:
      i.scratch === undefined
        ? undefined
        : {
            transfer: { ...testOf(i.target.test), seconds: i.target.seconds },
            scratch: { ...testOf(i.scratch.test), seconds: i.scratch.seconds },
            text: finished.tags['transferkit.transfer_vs_scratch'],
          },
    adaptation: undefined,
    params: paramsOf(i.params, { input_size_used: String(finished.inputSize), num_classes: String(data.classIds.length) }),
    data: {
      ...datasetFacts(data.dataset),
      classes: data.classIds.map((id, k) => ({ id, name: data.classNames[k] ?? String(id) })),
      counts,
      notes,
    },
    timings: transferTimings(i),
    notes: notesFrom(finished.tags, ['transferkit.stage_summary', 'transferkit.goal']),
    mistakes: await mistakesOf(finished.test, data.test, data.classNames),
  };
}

/** Builds and writes report.html into the run's output folder; returns its path. */
export async function writeTransferReport(i: TransferReportInput): Promise<string> {
  return writeRunReport(i.finished.outputDir, await transferReportData(i));
}
