/**
 * Human- and machine-readable evaluation files next to the model: the confusion matrix as CSV and
 * per-class accuracy as JSON. Written atomically, like everything that claims a result.
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

export async function writeEvaluationReports(dir: string, evaluation: Evaluation, classNames: readonly string[]): Promise<string> {
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, 'confusion_matrix.csv'), confusionCsv(evaluation, classNames));
  const perClass = Object.fromEntries(classNames.map((name, i) => [name, evaluation.perClassAccuracy[i] ?? null]));
  await writeFileAtomic(
    join(dir, 'test_metrics.json'),
    `${JSON.stringify({ count: evaluation.count, loss: evaluation.loss, accuracy: evaluation.accuracy, per_class_accuracy: perClass }, null, 2)}\n`,
  );
  return dir;
}
