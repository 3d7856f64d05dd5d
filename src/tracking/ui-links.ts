/**
 * Links into the MLflow UI that open where a person looking at a training run wants to be. MLflow
 * 3.17's UI keeps a global "GenAI | Model training" switch (default GenAI, remembered per browser):
 * in GenAI mode an experiment opens on its GenAI overview (traces, tokens) and ignores the
 * experiment's `mlflow.experimentKind` tag. A `workflowType=machine_learning` query opens the
 * experiment on its runs table and the run page with the model-training navigation.
 */

const WORKFLOW = 'workflowType=machine_learning';

const base = (trackingUrl: string) => trackingUrl.replace(/\/+$/, '');

/** The experiment's runs table. */
export function experimentRunsUrl(trackingUrl: string, experimentId: string): string {
  return `${base(trackingUrl)}/#/experiments/${encodeURIComponent(experimentId)}/runs?${WORKFLOW}`;
}

/** The run's page (its overview; `tab` e.g. `model-metrics` or `artifacts/report.html`). */
export function runPageUrl(trackingUrl: string, experimentId: string, runId: string, tab?: string): string {
  const path = `#/experiments/${encodeURIComponent(experimentId)}/runs/${encodeURIComponent(runId)}${tab === undefined ? '' : `/${tab}`}`;
  return `${base(trackingUrl)}/${path}?${WORKFLOW}`;
}

/** The same path relative to the UI's own page, for links inside MLflow (a run's description). */
export function runPagePath(experimentId: string, runId: string, tab?: string): string {
  return runPageUrl('', experimentId, runId, tab).replace(/^\//, '');
}
