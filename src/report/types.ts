/**
 * What a run's report.html shows, as plain data: built from the pipeline's results by
 * build-run.ts, turned into HTML by the pure functions of run-html.ts (testable without TensorFlow).
 */

/** One epoch of a phase: its number (0-based, continuing across stages), stage and every logged number. */
export interface ReportEpoch {
  readonly epoch: number;
  readonly stage: number;
  /** loss, accuracy, val_loss, val_accuracy, epoch_seconds, and an adaptation's own numbers. */
  readonly values: Readonly<Record<string, number>>;
}

export interface ReportStage {
  readonly stage: number;
  /** Layers trained besides the head (empty: the head only). */
  readonly trainable: readonly string[];
  readonly epochsRun: number;
  readonly bestEpoch: number;
  readonly stoppedEarly: boolean;
}

export interface ReportTest {
  readonly count: number;
  readonly loss: number;
  readonly accuracy: number;
}

/** One model trained by the run: the run's own (`target`), a source model, or the from-scratch baseline. */
export interface ReportPhase {
  readonly key: 'target' | 'source' | 'scratch';
  readonly title: string;
  readonly epochs: readonly ReportEpoch[];
  readonly stages: readonly ReportStage[];
  /** The epoch whose weights the model kept. */
  readonly keptEpoch: number;
  readonly test: ReportTest;
  readonly seconds: number;
  readonly trainSeconds: number;
}

/** A misclassified test image, most confident mistakes first. */
export interface ReportMistake {
  /** Index in the test set. */
  readonly index: number;
  readonly trueClass: string;
  readonly predictedClass: string;
  /** The model's probability of the predicted class. */
  readonly probability: number;
  /** `data:image/png;base64,…` */
  readonly png: string;
}

export interface ReportAdaptation {
  readonly method: string;
  readonly domains: string;
  readonly summary: string;
  readonly selectionSignal: string;
  /** Closing numbers of the adaptation (selection, data sizes, source test accuracy). */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface ReportComparison {
  /** The from-scratch baseline's and the transfer's test numbers and wall times. */
  readonly transfer: ReportTest & { readonly seconds: number };
  readonly scratch: ReportTest & { readonly seconds: number };
  readonly text: string | undefined;
}

export interface ReportDataSummary {
  readonly dataset: string;
  readonly source: string;
  readonly fingerprint: string;
  readonly verified: boolean | undefined;
  /** Model output order. */
  readonly classes: readonly { readonly id: number; readonly name: string }[];
  /** Images per split, in the order shown (e.g. train, validation, test). */
  readonly counts: readonly (readonly [string, number])[];
  /** `folder:` datasets: files skipped, by reason (undefined for other datasets). */
  readonly skipped: Readonly<Record<string, number>> | undefined;
  /** Further lines (e.g. the target domain of an adaptation). */
  readonly notes: readonly string[];
}

export interface ReportTiming {
  readonly label: string;
  readonly seconds: number;
  readonly note?: string;
}

export interface RunReportData {
  readonly title: string;
  /** ISO time the report was written. */
  readonly createdAt: string;
  readonly version: string;
  readonly runId: string | undefined;
  readonly classNames: readonly string[];
  /** The run's model on its test set. */
  readonly test: ReportTest & {
    readonly perClassAccuracy: readonly number[];
    /** confusion[true][predicted] */
    readonly confusion: readonly (readonly number[])[];
  };
  readonly epochsRun: number;
  readonly keptEpoch: number;
  readonly stoppedEarly: boolean;
  /** The run's model first. */
  readonly phases: readonly ReportPhase[];
  readonly comparison: ReportComparison | undefined;
  readonly adaptation: ReportAdaptation | undefined;
  /** Parameters as the run used them (given and defaults), then derived ones. */
  readonly params: Readonly<Record<string, string>>;
  readonly data: ReportDataSummary;
  readonly timings: readonly ReportTiming[];
  /** Sentences from the run's tags (stage summary, goal). */
  readonly notes: readonly string[];
  readonly mistakes: { readonly total: number; readonly shown: readonly ReportMistake[]; readonly note: string | undefined };
}
