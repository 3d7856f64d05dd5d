/**
 * Wire shapes of the MLflow REST responses this client reads, checked with zod. Field names stay
 * MLflow's (snake_case). Omitted repeated fields mean "empty", so arrays default to [].
 */
import { z } from 'zod';

/** int64 fields arrive as JSON numbers from MLflow's server, but proto-JSON may send strings. */
const int64 = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]);

/** "NaN" / "Infinity" / "-Infinity" travel as strings; everything else as a JSON number. */
export const metricValueSchema = z.union([
  z.number(),
  z.enum(['NaN', 'Infinity', '-Infinity']).transform(Number),
]);

/** What goes on the wire for a metric value (JSON has no NaN or Infinity). */
export function encodeMetricValue(value: number): number | 'NaN' | 'Infinity' | '-Infinity' {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  return value;
}

export const runStatusSchema = z.enum(['RUNNING', 'SCHEDULED', 'FINISHED', 'FAILED', 'KILLED']);
export type RunStatus = z.infer<typeof runStatusSchema>;

export const metricSchema = z.object({
  key: z.string(),
  value: metricValueSchema,
  timestamp: int64,
  step: int64.default(0),
});
export type Metric = z.infer<typeof metricSchema>;

export const paramSchema = z.object({ key: z.string(), value: z.string().default('') });
export type Param = z.infer<typeof paramSchema>;

export const runTagSchema = z.object({ key: z.string(), value: z.string().default('') });
export type RunTag = z.infer<typeof runTagSchema>;

export const runInfoSchema = z.object({
  run_id: z.string(),
  experiment_id: z.string(),
  run_name: z.string().optional(),
  user_id: z.string().optional(),
  status: runStatusSchema,
  start_time: int64.optional(),
  end_time: int64.optional(),
  artifact_uri: z.string(),
  lifecycle_stage: z.string(),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

export const runDataSchema = z.object({
  metrics: z.array(metricSchema).default([]),
  params: z.array(paramSchema).default([]),
  tags: z.array(runTagSchema).default([]),
});
export type RunData = z.infer<typeof runDataSchema>;

/** MLflow 3: the logged models a run produced (`runs/outputs`). */
export const runOutputsSchema = z.object({
  model_outputs: z.array(z.object({ model_id: z.string(), step: int64.default(0) })).default([]),
});

export const runSchema = z.object({
  info: runInfoSchema,
  data: runDataSchema.default({ metrics: [], params: [], tags: [] }),
  outputs: runOutputsSchema.default({ model_outputs: [] }),
});
export type Run = z.infer<typeof runSchema>;

export const experimentSchema = z.object({
  experiment_id: z.string(),
  name: z.string(),
  artifact_location: z.string().optional(),
  lifecycle_stage: z.string(),
  creation_time: int64.optional(),
  last_update_time: int64.optional(),
  tags: z.array(runTagSchema).default([]),
});
export type Experiment = z.infer<typeof experimentSchema>;

export const getExperimentResponse = z.object({ experiment: experimentSchema });
export const createExperimentResponse = z.object({ experiment_id: z.string() });
export const runResponse = z.object({ run: runSchema });
export const updateRunResponse = z.object({ run_info: runInfoSchema.optional() });
export const emptyResponse = z.object({});

export const searchRunsResponse = z.object({
  runs: z.array(runSchema).default([]),
  next_page_token: z.string().optional(),
});
export type SearchRunsPage = z.infer<typeof searchRunsResponse>;

export const metricHistoryResponse = z.object({
  metrics: z.array(metricSchema).default([]),
  next_page_token: z.string().optional(),
});

export const artifactFileSchema = z.object({
  path: z.string(),
  is_dir: z.boolean().default(false),
  file_size: int64.optional(),
});
export type ArtifactFile = z.infer<typeof artifactFileSchema>;

export const listArtifactsResponse = z.object({ files: z.array(artifactFileSchema).default([]) });

/** `{"error_code", "message"}`, MLflow's error body; both parts are optional in practice. */
export const errorBodySchema = z.object({
  error_code: z.string().optional(),
  message: z.string().optional(),
});
