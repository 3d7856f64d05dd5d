/**
 * What a checkpoint says besides its tensors: which run, which inputs (the fingerprint), where the
 * run stands (phase, stage, epoch), the epochs' metrics with their timestamps, the early-stopping
 * counters and the results of phases already finished.
 */
import { z } from 'zod';

const num = z.union([z.number(), z.null()]).transform((v) => (v === null ? Number.NaN : v));

/** An epoch's metrics; a step's own numbers (an adaptation's class_loss, target_entropy, …) are kept as they are. */
export const epochSchema = z.object({
  epoch: z.number().int(), stage: z.number().int(), loss: num, accuracy: num, val_loss: num, val_accuracy: num, epoch_seconds: num, time: z.number(),
}).catchall(num);

const evaluationSchema = z.object({
  count: z.number(), loss: num, accuracy: num, perClassAccuracy: z.array(num), confusion: z.array(z.array(z.number())),
});

const outcomeSchema = z.object({
  stage: z.number().int(), trainable: z.array(z.string()), epochsRun: z.number().int(), bestEpoch: z.number().int(), stoppedEarly: z.boolean(),
});

/** A finished stage of the phase in progress. */
export const stageRecordSchema = z.object({
  outcome: outcomeSchema,
  epochs: z.array(epochSchema),
  trainSeconds: z.number(),
  cacheSecondsSaved: z.number(),
  cacheTags: z.record(z.string(), z.string()),
});
export type StageRecord = z.infer<typeof stageRecordSchema>;

export const phaseResultSchema = z.object({
  epochs: z.array(epochSchema),
  stages: z.array(outcomeSchema),
  test: evaluationSchema,
  otherTests: z.record(z.string(), evaluationSchema).optional(),
  bestEpoch: z.number().int(),
  stoppedEarly: z.boolean(),
  trainSeconds: z.number(),
  seconds: z.number(),
  cacheTags: z.record(z.string(), z.string()),
  cacheSecondsSaved: z.number(),
});

export const fingerprintSchema = z.object({
  version: z.string(),
  params: z.record(z.string(), z.string()),
  data: z.string(),
  weights: z.string(),
});
export type Fingerprint = z.infer<typeof fingerprintSchema>;

/**
 * 2: graph models (freeze plans by unit, BatchNorm statistics among the saved weights).
 * 3: every kind of training step (adaptation runs too): a step's own per-epoch numbers, its state tensors
 * (group `step`, e.g. a DANN discriminator) and the phase's other test sets.
 */
export const CHECKPOINT_FORMAT_VERSION = 3;

export const manifestSchema = z.object({
  format: z.literal('transferkit-checkpoint'),
  version: z.literal(CHECKPOINT_FORMAT_VERSION),
  run_id: z.string().nullable(),
  /**
   * The client token the MLflow run is created with (tag transferkit.client_token): a checkpoint
   * written while the server was still creating the run names it by this. Absent before it was kept.
   */
  run_token: z.string().regex(/^[\w-]+$/).optional(),
  fingerprint: fingerprintSchema,
  phase: z.enum(['source', 'target', 'scratch']),
  /** 1-based stage of the phase in progress. */
  stage: z.number().int().positive(),
  /** Global index of the last finished epoch. */
  epoch: z.number().int(),
  stage_done: z.boolean(),
  stage_epochs: z.array(epochSchema),
  /** The stage's tags so far (the ridge probe's λ); absent in checkpoints written before they were kept. */
  stage_tags: z.record(z.string(), z.string()).optional(),
  earlier_stages: z.array(stageRecordSchema),
  early_stop: z.object({ bestLoss: num, bestEpoch: z.number().int(), wait: z.number().int() }).nullable(),
  completed_phases: z.object({ source: phaseResultSchema.optional(), target: phaseResultSchema.optional() }),
  saved_at: z.number(),
});
export type Manifest = z.infer<typeof manifestSchema>;

/** Differences between a checkpoint's fingerprint and the current run's, in words; empty when equal. */
export function fingerprintDiff(saved: Fingerprint, current: Fingerprint): string[] {
  const out: string[] = [];
  if (saved.version !== current.version) out.push(`transferkit version ${saved.version} → ${current.version}`);
  if (saved.data !== current.data) out.push(`data fingerprint ${saved.data.slice(0, 12)}… → ${current.data.slice(0, 12)}…`);
  if (saved.weights !== current.weights) out.push(`base weights ${saved.weights.slice(0, 19)}… → ${current.weights.slice(0, 19)}…`);
  const keys = [...new Set([...Object.keys(saved.params), ...Object.keys(current.params)])].sort();
  for (const k of keys) {
    const a = saved.params[k];
    const b = current.params[k];
    if (a !== b) out.push(`${k} ${JSON.stringify(a ?? null)} → ${JSON.stringify(b ?? null)}`);
  }
  return out;
}
