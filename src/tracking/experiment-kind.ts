/**
 * MLflow's experiment-kind tag on the experiments transferkit logs into: `mlflow.experimentKind =
 * custom_model_development` ("Machine learning" in the UI, the value its experiment-kind selector
 * writes), so MLflow UIs that go by the tag open the experiment on its training runs instead of the
 * GenAI overview. A kind someone chose is kept; only a missing or inferred one is set.
 * (MLflow 3.17's UI itself goes by its global workflow switch; see ui-links.ts.)
 */
import { z } from 'zod';
import type { MlflowClient } from '../mlflow/client.js';
import { getExperimentResponse } from '../mlflow/schemas.js';

export const EXPERIMENT_KIND_TAG = 'mlflow.experimentKind';
export const TRAINING_KIND = 'custom_model_development';

/** Values MLflow's UI writes on its own when it guesses; replaced by ours. */
const GUESSED = new Set(['', 'no_inferred_type', 'genai_development_inferred', 'custom_model_development_inferred']);

export async function markTrainingExperiment(client: MlflowClient, experimentId: string): Promise<boolean> {
  const { experiment } = await client.http.json(
    { method: 'GET', path: '/api/2.0/mlflow/experiments/get', query: { experiment_id: experimentId } },
    getExperimentResponse,
  );
  const kind = experiment.tags.find((t) => t.key === EXPERIMENT_KIND_TAG)?.value;
  if (kind !== undefined && !GUESSED.has(kind)) return false;
  await client.http.json(
    { method: 'POST', path: '/api/2.0/mlflow/experiments/set-experiment-tag', json: { experiment_id: experimentId, key: EXPERIMENT_KIND_TAG, value: TRAINING_KIND } },
    z.object({}),
  );
  return true;
}
