/**
 * The job: backend → the run's plan (./plan/: data, phases, stages) → its phases in order (a source
 * model, then the target model on it, then a from-scratch baseline) → export. Each phase builds a
 * classifier, loads its base weights and trains through its stages (train/stages.ts), whatever step
 * a stage takes (supervised or an adaptation method), with the same checkpoints, resume, activation
 * cache and events; this module only wires them and writes the outputs.
 */
import { join } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { writeFileAtomic } from '../fs-atomic.js';
import { VERSION } from '../version.js';
import type { LaterRunId, PipelineDeps } from './deps.js';
import type { Phase, PipelineEvents, RunFinished } from './events.js';
import { exportModelDir } from './export/model-dir.js';
import { modelMeta, type ModelMeta } from './export/meta.js';
import { writeEvaluationReports } from './export/reports.js';
import type { PhasePlan, PhaseResults } from './plan/index.js';
import { trainableParams } from './model/freeze.js';
import { buildClassifier, headOf } from './model/build.js';
import { loadBaseWeights, resolveWeights, weightsFingerprint, type WeightsSource } from './model/weights.js';
import { CheckpointError, RunCheckpoints, fingerprintParams } from './checkpoint/run-checkpoints.js';
import { CheckpointStore } from './checkpoint/store.js';
import type { FaultHooks } from '../faults.js';
import { ensureWritable } from './writable.js';
import { chooseHeadSolver } from './params/head-solver.js';
import type { TrainParams } from './params/train.js';
import { prepareRun, type PreparedRun } from './prepare-run.js';
import type { CacheSettings } from './train/inputs.js';
import { trainPhase, type PhaseResult } from './train/stages.js';

export interface RunDeps extends PipelineDeps {
  readonly events?: PipelineEvents;
  readonly signal?: AbortSignal;
  /**
   * The MLflow run this job logs into, recorded in checkpoints and the report (absent without
   * tracking); a LaterRunId while the tracking server is still creating the run.
   */
  readonly runId?: string | LaterRunId;
  /** Where checkpoints go (default `<outputDir>/checkpoints`). */
  readonly checkpointDir?: string;
  /** Fault injection (src/faults.ts): hooks before batches and checkpoint writes. */
  readonly faults?: FaultHooks;
}

function envNumber(env: RunDeps['env'], name: string, fallback: number): number {
  const value = Number(env[name]);
  return env[name] !== undefined && Number.isFinite(value) && value >= 0 ? value : fallback;
}

interface PhaseRun {
  readonly result: PhaseResult;
  readonly weightsFingerprint: string;
}

/**
 * The whole job. `prepared`: what `prepareRun` already did for these params (the entry prepares
 * while the tracking server starts); without it, this prepares first.
 */
export async function runTraining(params: TrainParams, deps: RunDeps, prepared?: PreparedRun): Promise<RunFinished> {
  const ready = prepared ?? await prepareRun(params, deps);
  const { startedAt: t0, backend, spec, inputSize, plan } = ready;
  let weights = ready.weights;
  const { logger, events } = deps;
  const input = { inputSize, preprocessing: spec.preprocessing };
  const cache: CacheSettings = {
    mode: params.activation_cache,
    dtype: params.cache_dtype,
    cacheRoot: deps.cacheDir,
    memoryBudgetBytes: envNumber(deps.env, 'TRANSFERKIT_CACHE_MEMORY_MB', 2048) * 2 ** 20,
    maxDiskBytes: envNumber(deps.env, 'TRANSFERKIT_CACHE_MAX_GB', 20) * 2 ** 30,
    batchSize: params.batch_size, // as training and evaluation: lowering batch_size lowers the memory every step needs
    logger,
    now: deps.now,
    augment: params.augment,
  };
  const meta = (p: PhasePlan, baseWeights: string): ModelMeta =>
    modelMeta({ spec, inputSize, dataset: p.dataset, classIds: p.classIds, classNames: p.classNames, baseWeights });

  await ensureWritable(deps.outputDir, 'output_dir');
  if (deps.checkpointDir !== undefined) await ensureWritable(deps.checkpointDir, 'checkpoint_dir');
  const checkpoints = await RunCheckpoints.open({
    store: new CheckpointStore(deps.checkpointDir ?? join(deps.outputDir, 'checkpoints'), logger, deps.faults?.beforeCheckpointWrite),
    fingerprint: { version: VERSION, params: fingerprintParams(params), data: plan.dataFingerprint, weights: ready.weightsFingerprint },
    runId: typeof deps.runId === 'object' ? deps.runId.current : deps.runId,
    ...(typeof deps.runId === 'object' ? { runToken: deps.runId.token } : {}),
    now: deps.now,
    logger,
    policy: params.resume === 'never' ? 'never' : 'auto',
  });

  /** Builds a classifier on `w`, trains it through the phase's stages, then hands it to `keep` before disposal. */
  const runPhase = async (phase: Phase, p: PhasePlan, w: WeightsSource, keep?: (model: tf.LayersModel, fingerprint: string) => Promise<void>): Promise<PhaseRun> => {
    const { stages } = p;
    const resume = checkpoints.resumeFor(phase);
    // the solver's choice is the target model's: a source model and the from-scratch baseline train
    // every layer with Adam, under the head given or the backbone's usual one
    const head = headOf(phase === 'target' ? params : { ...params, head_solver: 'adam' }, spec);
    const model = buildClassifier(spec, inputSize, { numClasses: p.classIds.length, denseUnits: params.dense_units, dropout: params.dropout, seed: params.seed, head });
    try {
      const weightsFingerprint = await loadBaseWeights(model, spec, w);
      logger.info({ phase, backbone: spec.name, inputSize, weights: w.kind, stages: stages.map((s) => s.plan.trainable), steps: stages.map((s) => s.step?.kind ?? 'supervised') }, 'model ready');
      const result = await trainPhase(model, {
        phase,
        stages,
        backbone: spec,
        sets: p.sets,
        ...(p.alsoEvaluate === undefined ? {} : { alsoEvaluate: p.alsoEvaluate }),
        ...(p.adabn === undefined ? {} : { adabn: p.adabn }),
        numClasses: p.classIds.length,
        input,
        cache,
        batchSize: params.batch_size,
        patience: params.use_early_stop ? params.patience : undefined,
        seed: params.seed,
        tta: params.tta,
        // the label-scarce fine-tuning recipes shape the target model only (not the source model or the baseline)
        ...(phase === 'target' ? { backboneLrFactor: params.backbone_lr_factor, l2spWeight: params.l2sp_weight } : {}),
        now: deps.now,
        onEpoch: (m, context) => events?.epoch?.(m, context),
        onProgress: checkpoints.progress(phase),
        ...(deps.faults?.beforeBatch === undefined ? {} : { beforeBatch: deps.faults.beforeBatch }),
        ...(resume === undefined ? {} : { resume }),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
        ...(deps.progress === undefined ? {} : { progress: deps.progress }),
      });
      logger.info({ phase, test_loss: result.test.loss, test_accuracy: result.test.accuracy, best_epoch: result.bestEpoch, seconds: result.seconds }, 'evaluated on the test set');
      await keep?.(model, weightsFingerprint);
      return { result, weightsFingerprint };
    } finally {
      model.dispose();
    }
  };

  const headSolver = chooseHeadSolver(params, spec);
  const started = {
    resolvedParams: {
      input_size: String(inputSize),
      num_classes: String(plan.target.classIds.length),
      head: headOf(params, spec),
      head_solver: headSolver.solver,
      ...trainableParams(plan.target.stages[0]?.plan, ''),
      ...trainableParams(plan.target.stages[1]?.plan, 'fine_tune_'),
    },
    tags: {
      'transferkit.version': VERSION,
      'transferkit.backend': backend.name,
      'transferkit.tfjs_version': backend.tfjsVersion,
      'transferkit.tensorflow_version': backend.tensorflowVersion ?? 'n/a',
      'transferkit.weights_source': weights.kind,
      'transferkit.augment': params.augment.join(',') || 'none',
      'transferkit.head_solver_reason': headSolver.reason,
      ...plan.tags,
    },
  };
  await events?.started?.(started);

  await checkpoints.replay(events);
  /** A phase a checkpoint says is finished: its result, its exported model folder checked. */
  const finishedPhase = async (phase: 'source' | 'target', dir: string): Promise<PhaseRun | undefined> => {
    const result = checkpoints.completed(phase);
    if (result === undefined) return undefined;
    const source = await resolveWeights(dir, spec, deps).catch((error: unknown) => {
      throw new CheckpointError(`The checkpoint says the ${phase} model finished, but its folder ${dir} cannot be read; resume=never starts over`, { cause: error });
    });
    logger.info({ phase, model: dir }, 'phase already finished before the interruption; not trained again');
    return { result, weightsFingerprint: await weightsFingerprint(source) };
  };

  let source: PhaseRun | undefined;
  const sourceModelDir = join(deps.outputDir, 'source-model');
  if (plan.source !== undefined) {
    const sourcePlan = plan.source;
    source = await finishedPhase('source', sourceModelDir) ?? await runPhase('source', sourcePlan, weights, async (model, fingerprint) => {
      await exportModelDir(model, sourceModelDir, meta(sourcePlan, fingerprint), spec.preprocessing);
    });
    checkpoints.markCompleted('source', source.result);
    weights = await resolveWeights(sourceModelDir, spec, deps);
  }
  const modelDir = join(deps.outputDir, 'model');
  const target = await finishedPhase('target', modelDir) ?? await runPhase('target', plan.target, weights, async (model, fingerprint) => {
    await exportModelDir(model, modelDir, meta(plan.target, fingerprint), spec.preprocessing);
  });
  checkpoints.markCompleted('target', target.result);
  const scratch = plan.scratch === undefined ? undefined : await runPhase('scratch', plan.scratch, { kind: 'none' });

  await writeEvaluationReports(join(deps.outputDir, 'evaluation'), target.result.test, plan.target.classNames);
  const results: PhaseResults = { target: target.result, source: source?.result, scratch: scratch?.result };
  const base = {
    test: target.result.test,
    classNames: plan.target.classNames,
    modelDir,
    outputDir: deps.outputDir,
    inputSize,
    tfjsVersion: backend.tfjsVersion,
    bestEpoch: target.result.bestEpoch,
    stoppedEarly: target.result.stoppedEarly,
    trainSeconds: target.result.trainSeconds,
    totalSeconds: (deps.now() - t0) / 1000,
    resumed: checkpoints.resumed !== undefined,
    ...(source === undefined ? {} : { sourceModelDir }),
  };
  const closing = plan.close(results, base);
  const finished: RunFinished = { ...base, metrics: closing.metrics, tags: { 'transferkit.weights_fingerprint': target.weightsFingerprint, ...closing.tags } };
  const epochs = { source: source?.result.epochs, target: target.result.epochs, scratch: scratch?.result.epochs };
  // the file holds what the MLflow run holds: the start's resolved parameters and tags with the end's
  const file = { epochs: target.result.epochs, phases: epochs, ...finished, resolvedParams: started.resolvedParams, tags: { ...started.tags, ...finished.tags } };
  await writeFileAtomic(join(deps.outputDir, 'metrics.json'), `${JSON.stringify(file, null, 2)}\n`);
  await plan.writeReport(results, finished, typeof deps.runId === 'object' ? await deps.runId.settled() : deps.runId);
  await events?.finished?.(finished);
  return finished;
}
