/**
 * A run's report.html as MLflow sees it: uploaded at the artifact root, named by the
 * `transferkit.report` tag, and linked from the run's description (`mlflow.note.content`, shown on
 * the run's overview) unless a person wrote that description. Also the per-class table's
 * `mlflow.loggedArtifacts` entry, as mlflow.log_table records it.
 */
import { access } from 'node:fs/promises';
import type { MlflowClient } from '../mlflow/client.js';
import type { ArtifactWriter } from './local-artifacts.js';
import { runPagePath } from './ui-links.js';

export const REPORT_ARTIFACT = 'report.html';
export const REPORT_TAG = 'transferkit.report';
export const NOTE_TAG = 'mlflow.note.content';
export const LOGGED_ARTIFACTS_TAG = 'mlflow.loggedArtifacts';

export function reportNote(experimentId: string, runId: string, lead: string): string {
  const link = runPagePath(experimentId, runId, `artifacts/${REPORT_ARTIFACT}`);
  return `transferkit run report: [${REPORT_ARTIFACT}](${link}) (learning curves, confusion matrix, misclassified images, timings).\n\n${lead}`;
}

/** A description transferkit wrote (a report link, a failure) may be replaced; a person's may not. */
const ours = (note: string | undefined) => note === undefined || note.trim() === '' || note.startsWith('transferkit ');

export interface ReportTarget {
  readonly client: MlflowClient;
  readonly runId: string;
  readonly experimentId: string;
  artifacts(): ArtifactWriter;
}

/**
 * Uploads `file` as the run's report.html and links it. Returns false (nothing done) when the run
 * wrote no report. `tables` are run-relative artifact paths of tables to record.
 */
export async function publishReport(session: ReportTarget, file: string, lead: string, tables: readonly string[] = []): Promise<boolean> {
  const exists = await access(file).then(() => true, () => false);
  if (!exists) return false;
  await session.artifacts().uploadFile(file, REPORT_ARTIFACT);
  const run = await session.client.getRun(session.runId);
  const tag = (key: string) => run.data.tags.find((t) => t.key === key)?.value;
  const tags: Record<string, string> = { [REPORT_TAG]: REPORT_ARTIFACT };
  if (ours(tag(NOTE_TAG))) tags[NOTE_TAG] = reportNote(session.experimentId, session.runId, lead);
  if (tables.length > 0) tags[LOGGED_ARTIFACTS_TAG] = loggedArtifacts(tag(LOGGED_ARTIFACTS_TAG), tables);
  await session.client.logBatch({ runId: session.runId, tags });
  return true;
}

/** The tag's list with `tables` added as `{"path", "type": "table"}` entries (kept once, order kept). */
export function loggedArtifacts(current: string | undefined, tables: readonly string[]): string {
  let list: unknown[] = [];
  try {
    const parsed: unknown = JSON.parse(current ?? '[]');
    if (Array.isArray(parsed)) list = parsed;
  } catch {
    list = [];
  }
  const have = new Set(list.map((x) => JSON.stringify(x)));
  for (const path of tables) {
    const entry = { path, type: 'table' };
    if (!have.has(JSON.stringify(entry))) list.push(entry);
  }
  return JSON.stringify(list);
}
