/**
 * Wire shapes of MLflow 3's logged models (`/logged-models`) and Model Registry
 * (`/registered-models`, `/model-versions`) as the 3.17 server writes them (protos/service_pb2 and
 * model_registry_pb2, serialized with snake_case names; enums as their names). Checked with zod.
 */
import { z } from 'zod';

const int64 = z.union([z.number().int(), z.string().regex(/^-?\d+$/).transform(Number)]);
const keyValue = z.object({ key: z.string(), value: z.string().default('') });

export const LOGGED_MODEL_STATUSES = ['LOGGED_MODEL_STATUS_UNSPECIFIED', 'LOGGED_MODEL_PENDING', 'LOGGED_MODEL_READY', 'LOGGED_MODEL_UPLOAD_FAILED'] as const;
export type LoggedModelStatus = (typeof LOGGED_MODEL_STATUSES)[number];

export const loggedModelSchema = z.object({
  info: z.object({
    model_id: z.string(),
    experiment_id: z.string(),
    name: z.string().default(''),
    creation_timestamp_ms: int64.optional(),
    last_updated_timestamp_ms: int64.optional(),
    /** e.g. `mlflow-artifacts:/<experiment>/models/<model_id>/artifacts`. */
    artifact_uri: z.string(),
    status: z.enum(LOGGED_MODEL_STATUSES).default('LOGGED_MODEL_STATUS_UNSPECIFIED'),
    model_type: z.string().optional(),
    source_run_id: z.string().optional(),
    status_message: z.string().optional(),
    tags: z.array(keyValue).default([]),
    registrations: z.array(z.object({ name: z.string(), version: z.string() })).default([]),
  }),
  data: z.object({ params: z.array(keyValue).default([]) }).default({ params: [] }),
});
export type LoggedModel = z.infer<typeof loggedModelSchema>;
export const loggedModelResponse = z.object({ model: loggedModelSchema });

export const modelVersionSchema = z.object({
  name: z.string(),
  /** A decimal number as text ("1"). */
  version: z.string(),
  source: z.string().default(''),
  run_id: z.string().optional(),
  model_id: z.string().optional(),
  status: z.string().optional(),
  status_message: z.string().optional(),
  aliases: z.array(z.string()).default([]),
});
export type ModelVersion = z.infer<typeof modelVersionSchema>;
export const modelVersionResponse = z.object({ model_version: modelVersionSchema });
export const searchModelVersionsResponse = z.object({
  model_versions: z.array(modelVersionSchema).default([]),
  next_page_token: z.string().optional(),
});
export const downloadUriResponse = z.object({ artifact_uri: z.string() });

export const registeredModelSchema = z.object({
  name: z.string(),
  aliases: z.array(z.object({ alias: z.string(), version: z.string() })).default([]),
});
export type RegisteredModel = z.infer<typeof registeredModelSchema>;
export const registeredModelResponse = z.object({ registered_model: registeredModelSchema });
export const searchRegisteredModelsResponse = z.object({
  registered_models: z.array(registeredModelSchema).default([]),
  next_page_token: z.string().optional(),
});
