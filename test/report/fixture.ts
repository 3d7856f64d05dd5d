/** A RunReportData for the pure HTML tests: two stages, three classes (one with a hostile name). */
import type { ReportEpoch, RunReportData } from '../../src/report/types.js';

export const HOSTILE = `<script>alert("x")</script> & 'quotes'`;

export function epochs(n: number, stageAt = Number.POSITIVE_INFINITY): ReportEpoch[] {
  return Array.from({ length: n }, (_, e) => ({
    epoch: e,
    stage: e >= stageAt ? 2 : 1,
    values: { loss: 1 / (e + 1), accuracy: 0.5 + e / (2 * n), val_loss: 1.2 / (e + 1), val_accuracy: 0.45 + e / (2 * n), epoch_seconds: 0.5 },
  }));
}

export function runReport(overrides: Partial<RunReportData> = {}): RunReportData {
  const eps = epochs(5, 3);
  return {
    title: 'transferkit run: test',
    createdAt: '2026-01-02T03:04:05.000Z',
    version: '0.1.0',
    runId: 'abc123',
    classNames: ['cat', 'dog', HOSTILE],
    test: { count: 30, loss: 0.41234, accuracy: 0.8333333333333334, perClassAccuracy: [0.9, 0.8, 0.8], confusion: [[9, 1, 0], [1, 8, 1], [0, 2, 8]] },
    epochsRun: 5,
    keptEpoch: 3,
    stoppedEarly: false,
    phases: [
      {
        key: 'target', title: 'This model', epochs: eps,
        stages: [
          { stage: 1, trainable: [], epochsRun: 3, bestEpoch: 2, stoppedEarly: false },
          { stage: 2, trainable: ['block5_conv3'], epochsRun: 2, bestEpoch: 3, stoppedEarly: false },
        ],
        keptEpoch: 3, test: { count: 30, loss: 0.41234, accuracy: 0.8333333333333334 }, seconds: 12, trainSeconds: 9,
      },
    ],
    comparison: undefined,
    adaptation: undefined,
    params: { dataset: 'folder:/data/pets', classes: '', augment: 'flip,crop', note: HOSTILE },
    data: {
      dataset: 'folder:/data/pets', source: '/data/pets', fingerprint: 'f00d', verified: false,
      classes: [{ id: 0, name: 'cat' }, { id: 1, name: 'dog' }, { id: 2, name: HOSTILE }],
      counts: [['training', 24], ['validation', 6], ['test', 30]],
      skipped: { corrupt: 2, ignored: 0 },
      notes: [],
    },
    timings: [{ label: 'this model: training', seconds: 9 }, { label: 'whole run', seconds: 14.5 }],
    notes: ['stage 1: epochs 1-3 trained the head'],
    mistakes: { total: 5, shown: [{ index: 7, trueClass: HOSTILE, predictedClass: 'dog', probability: 0.91, png: 'data:image/png;base64,iVBORw0KGgo=' }], note: undefined },
    ...overrides,
  };
}
