/** The advice as the few lines recommend prints (and MLflow shows as the run's description). */
import type { RecommendReport } from './report.js';

export function reportText(report: RecommendReport): string {
  const m = report.measurements;
  const rec = report.recommendation;
  const classes = (d: { dataset: string; class_ids: readonly number[] }) => `${d.dataset} classes ${d.class_ids.join(',')}`;
  const similarity = report.source === null || m.proxy_a_distance === null || m.domain_classifier_error === null
    ? `domain similarity: not measured (${report.model.weights} weights without source_dataset: no source images to compare ${classes(report.target)} with)`
    : `domain similarity: proxy A-distance ${m.proxy_a_distance.toFixed(3)} (domain classifier error ${(m.domain_classifier_error * 100).toFixed(1)}%), ` +
      `MMD ${(m.mmd ?? Number.NaN).toFixed(3)} (${rec.similarity}); ${classes(report.source)} vs ${classes(report.target)}, ` +
      `${m.source_sample_size ?? 0} images each, ${m.feature_dim ?? 0} pooled features of ${m.feature_layer ?? ''}`;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const pilots = report.pilot.status === 'ran'
    ? report.pilot.scores.map((p) => `pilot ${p.setting}: ${pct(p.heldOutAccuracy)} on ${p.heldOutImages} held-out images (${p.epochs} epochs, ${p.seconds.toFixed(0)} s)`)
    : rec.sure ? [] : [`unsure (${rec.unsure_because}) between ${rec.candidates.join(', ')}; pilot=off, so this is the table's pick (pilot=auto checks them)`];
  return [
    `labels per class: ${m.labels_per_class} (${rec.size})`,
    similarity,
    ...pilots,
    `recommendation: ${rec.setting}`,
    `reason: ${rec.reason}`,
    `run it: ${rec.command}`,
  ].join('\n');
}
