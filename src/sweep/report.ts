/**
 * What the parent run gets when the sweep ends: the best point (by validation accuracy) as tags and
 * metrics, counts, the artifacts sweep/summary.csv, sweep/summary.md and sweep/accuracy.svg, and
 * report.html (every point, the best, accuracy against each swept parameter) linked from the run.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSweepReport } from '../report/sweep-html.js';
import { publishReport } from '../tracking/report-link.js';
import type { TrackingSession } from '../tracking/session.js';
import { VERSION } from '../version.js';
import { accuracySvg } from './chart.js';
import type { Dimension } from './grid.js';
import { bestResult, type PointResult } from './runs.js';
import { summaryCsv, summaryMarkdown } from './summary.js';

export const BEST_TAG = 'best_child_run_id';
export const BEST_PARAM_TAG = 'transferkit.sweep.best.';

export interface SweepReport {
  readonly best: PointResult | undefined;
  readonly files: readonly string[];
}

export function sweepMetrics(results: readonly PointResult[], best: PointResult | undefined): Record<string, number> {
  const count = (pred: (r: PointResult) => boolean) => results.filter(pred).length;
  return {
    total_points: results.length,
    finished_points: count((r) => r.status === 'FINISHED'),
    failed_points: count((r) => r.status === 'FAILED'),
    killed_points: count((r) => r.status === 'KILLED' || r.status === 'NOT_RUN'),
    skipped_points: count((r) => r.skipped),
    ...(best?.valAccuracy === undefined ? {} : { best_val_accuracy: best.valAccuracy }),
    ...(best?.testAccuracy === undefined ? {} : { best_test_accuracy: best.testAccuracy }),
  };
}

/** Writes the summary files into `dir` and uploads them to the parent run under sweep/. */
export async function reportSweep(
  session: TrackingSession,
  results: readonly PointResult[],
  dims: readonly Dimension[],
  dir: string,
  fixed: Readonly<Record<string, string>> = {},
): Promise<SweepReport> {
  const best = bestResult(results);
  await mkdir(dir, { recursive: true });
  const files: Array<[string, string]> = [
    ['summary.csv', summaryCsv(results, dims)],
    ['summary.md', summaryMarkdown(results, dims, best)],
    ['accuracy.svg', accuracySvg(results, dims)],
  ];
  const artifacts = session.artifacts();
  for (const [name, content] of files) {
    await writeFile(join(dir, name), content);
    await artifacts.uploadFile(join(dir, name), `sweep/${name}`);
  }
  const tags: Record<string, string> = {};
  if (best !== undefined) {
    tags[BEST_TAG] = best.runId;
    tags['transferkit.sweep.best_point'] = best.key;
    for (const [k, v] of Object.entries(best.point)) tags[`${BEST_PARAM_TAG}${k}`] = v;
  }
  const timestamp = Date.now();
  const page = renderSweepReport({
    title: `transferkit sweep: ${dims.map((d) => d.name).join(' × ')}`, createdAt: new Date(timestamp).toISOString(), version: VERSION,
    runId: session.runId, dimensions: dims, fixed, results, best,
  });
  await writeFile(join(dir, 'report.html'), page);
  const lead = best === undefined ? 'No point finished.' : `Best point by validation accuracy: ${best.key}.`;
  await publishReport(session, join(dir, 'report.html'), `${results.length} points. ${lead}`);
  const metrics = Object.entries(sweepMetrics(results, best)).map(([key, value]) => ({ key, value, timestamp, step: 0 }));
  await session.client.logBatch({ runId: session.runId, tags, metrics });
  return { best, files: [...files.map(([name]) => join(dir, name)), join(dir, 'report.html')] };
}
