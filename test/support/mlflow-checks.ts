/** Reads back what landed on a real MLflow server, for the integration tests. */
import assert from 'node:assert/strict';
import { RunArtifacts } from '../../src/mlflow/artifacts.js';
import { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/schemas.js';

export function clientFor(url: string): MlflowClient {
  return new MlflowClient({ trackingUri: url, env: {}, retry: { maxRetries: 2 } });
}

/** The single run of an experiment (fails when there is not exactly one). */
export async function onlyRun(client: MlflowClient, experimentName: string): Promise<Run> {
  const experiment = await client.getExperimentByName(experimentName);
  assert.ok(experiment, `experiment ${experimentName} exists`);
  const page = await client.searchRuns({ experimentIds: [experiment.experiment_id], maxResults: 10 });
  const runs = page.runs ?? [];
  assert.equal(runs.length, 1, `experiment ${experimentName} has ${runs.length} runs`);
  const run = runs[0];
  assert.ok(run);
  return client.getRun(run.info.run_id);
}

export const paramsOf = (run: Run) => Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]));
export const tagsOf = (run: Run) => Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value]));
export const metricsOf = (run: Run) => Object.fromEntries((run.data.metrics ?? []).map((m) => [m.key, m.value]));

export async function artifactPaths(client: MlflowClient, run: Run): Promise<string[]> {
  const artifacts = new RunArtifacts(client.http, run.info.artifact_uri ?? '');
  return (await artifacts.listFiles()).map((f) => f.path).sort();
}

/** Steps of a metric's history, checking there are no duplicate points. */
export async function historySteps(client: MlflowClient, runId: string, key: string): Promise<number[]> {
  const points = await client.getMetricHistory(runId, key);
  return points.map((p) => p.step ?? 0).sort((a, b) => a - b);
}
