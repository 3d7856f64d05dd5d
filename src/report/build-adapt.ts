/**
 * report.html of an adaptation run (a target domain): the same page as a transfer run's, with the
 * adaptation's own per-epoch numbers, its epoch selection and both domains' data.
 */
import type { AdaptData } from '../pipeline/adapt/adapt-data.js';
import type { PhaseResult } from '../pipeline/train/stages.js';
import type { Evaluation } from '../pipeline/evaluate.js';
import type { RunFinished } from '../pipeline/events.js';
import type { TrainParams } from '../pipeline/params/train.js';
import { VERSION } from '../version.js';
import { datasetFacts, fullTestOf, paramsOf, reportEpochs, testOf, writeRunReport } from './build-common.js';
import { mistakesOf } from './gallery.js';
import type { RunReportData } from './types.js';

export interface AdaptReportInput {
  readonly params: TrainParams;
  readonly data: AdaptData;
  readonly train: Pick<PhaseResult, 'epochs' | 'bestEpoch' | 'stoppedEarly' | 'trainSeconds'>;
  readonly targetTest: Evaluation;
  readonly sourceTest: Evaluation | undefined;
  readonly signal: string;
  readonly finished: RunFinished;
  readonly runId?: string | undefined;
  readonly now: () => number;
}

export async function adaptReportData(i: AdaptReportInput): Promise<RunReportData> {
  const { data, finished, train } = i;
  const s = data.sourceSets;
  const sourceCounts: Array<[string, number]> =
    s === undefined ? [] : [['source training', s.train.count], ['source validation', s.validation.count], ['source test', s.test.count]];
  const counts: Array<[string, number]> = [
    ...sourceCounts,
    ['target labelled training', data.targetTrain.count],
    ['target validation', data.targetValidation.count],
    ['target unlabelled', data.targetPool.count],
    ['target test', data.targetTest.count],
  ];
  const evalSeconds = Math.max(0, finished.totalSeconds - train.trainSeconds);
  return {
    title: `transferkit adaptation: ${data.source.name} → ${data.target.name}, ${i.params.adaptation}`,
    createdAt: new Date(i.now()).toISOString(),
    version: VERSION,
    runId: i.runId,
    classNames: data.classNames,
    test: fullTestOf(i.targetTest),
    epochsRun: train.epochs.length,
    keptEpoch: train.bestEpoch,
    stoppedEarly: train.stoppedEarly,
    phases: [
      {
        key: 'target',
        title: `This model (${i.params.adaptation}), evaluated on the target test set`,
        epochs: reportEpochs(train.epochs),
        stages: [],
        keptEpoch: train.bestEpoch,
        test: testOf(i.targetTest),
        seconds: finished.totalSeconds,
        trainSeconds: train.trainSeconds,
      },
    ],
    comparison: undefined,
    adaptation: {
      method: i.params.adaptation,
      domains: finished.tags['transferkit.adaptation_domains'] ?? `${data.source.name} → ${data.target.name}`,
      summary: finished.tags['transferkit.adaptation_summary'] ?? '',
      selectionSignal: i.signal,
      metrics: finished.metrics,
    },
    params: paramsOf(i.params, { input_size_used: String(finished.inputSize), num_classes: String(data.classIds.length) }),
    data: {
      ...datasetFacts(data.target),
      classes: data.classIds.map((id, k) => ({ id, name: data.classNames[k] ?? String(id) })),
      counts,
      notes: [
        `Source domain: ${data.source.name} from ${data.source.source} (fingerprint ${data.source.fingerprint.slice(0, 16)}…)` +
          `${data.shared ? '' : '; its classes differ from the target\'s, so its images are not used'}${data.halves ? '; the training split is halved between the domains' : ''}.`,
        ...(i.sourceTest === undefined ? [] : [`Source test accuracy of the adapted model: ${(i.sourceTest.accuracy * 100).toFixed(2)}% on ${i.sourceTest.count} images.`]),
      ],
    },
    timings: [
      { label: 'training', seconds: train.trainSeconds, note: 'adaptation steps and the per-epoch validation and reports' },
      { label: 'data, test evaluation, export and the rest', seconds: evalSeconds },
      { label: 'whole run', seconds: finished.totalSeconds },
    ],
    notes: [finished.tags['transferkit.adaptation_summary'] ?? ''].filter((t) => t !== ''),
    mistakes: await mistakesOf(i.targetTest, data.targetTest, data.classNames),
  };
}

export async function writeAdaptReport(i: AdaptReportInput): Promise<string> {
  return writeRunReport(i.finished.outputDir, await adaptReportData(i));
}
