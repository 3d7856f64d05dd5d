/**
 * Human- and machine-readable evaluation files next to the model: the confusion matrix as CSV,
 * per-class accuracy as JSON and as a table in MLflow's table format (what mlflow.log_table writes,
 * so mlflow.load_table and the UI read it). Written atomically, like everything that claims a result.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../fs-atomic.js';
import type { Evaluation } from '../evaluate.js';

const csvCell = (text: string) => (/[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text);

export function confusionCsv(evaluation: Evaluation, classNames: readonly string[]): string {
  const header = ['true \\ predicted', ...classNames].map(csvCell).join(',');
  const rows = evaluation.confusion.map((row, i) => [csvCell(classNames[i] ?? String(i)), ...row.map(String)].join(','));
  return `${[header, ...rows].join('\n')}\n`;
}

/** The artifact path of the per-class table (MLflow's `{"columns": [...], "data": [[...]]}`). */
export const PER_CLASS_TABLE = 'evaluation/per_class_accuracy.json';

export function perClassTable(evaluation: Evaluation, classNames: readonly string[]): string {
  const data = classNames.map((name, i) => {
    const row = evaluation.confusion[i] ?? [];
    const accuracy = evaluation.perClassAccuracy[i];
    return [name, row.reduce((a, b) => a + b, 0), row[i] ?? 0, accuracy === undefined || Number.isNaN(accuracy) ? null : accuracy];
  });
  return `${JSON.stringify({ columns: ['class', 'test_images', 'correct', 'accuracy'], data })}\n`;
}

export async function writeEvaluationReports(dir: string, evaluation: Evaluation, classNames: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'confusion_matrix.csv'), confusionCsv(evaluation, classNames));
  const perClass = Object.fromEntries(classNames.map((name, i) => [name, evaluation.perClassAccuracy[i] ?? null]));
  await writeFileAtomic(
    join(dir, 'test_metrics.json'),
    `${JSON.stringify({ count: evaluation.count, loss: evaluation.loss, accuracy: evaluation.accuracy, per_class_accuracy: perClass }, null, 2)}\n`,
  );
  await writeFileAtomic(join(dir, 'per_class_accuracy.json'), perClassTable(evaluation, classNames));
  return dir;
}
