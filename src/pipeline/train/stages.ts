/**
 * Trains one model through its stages and evaluates it on the test set. Stage 1 trains what its
 * freeze plan leaves trainable (the head, plus any retrained conv layers); an optional stage 2
 * unfreezes more layers and continues at a smaller learning rate (feature extraction, then
 * fine-tuning). Each stage has its own optimizer and activation cache cut; the epoch count continues
 * across stages. Early stopping carries across them: a later stage starts from the best validation
 * loss and weights so far, so when fine-tuning never beats stage 1's best, the model ends with stage
 * 1's best weights (the stage's `bestEpoch` then lies before its first epoch, and the summary says so).
 * Not after the ridge probe: its validation loss chose λ on that split, so fine-tuning starts afresh.
 * The phase's types are in ./phase-types.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { evaluate, type Evaluation } from '../evaluate.js';
import type { Phase } from '../events.js';
import { applyFreeze } from '../model/freeze.js';
import { withProgress } from '../progress.js';
import type { StageRecord } from '../checkpoint/state.js';
import { carriedBest } from './early-stop.js';
import { anchorToStart } from './l2sp.js';
import { stageOptimizer } from './adam.js';
import { backboneLayers } from '../model/build.js';
import { ttaSource, type TtaMode } from '../tta.js';
import { reportingOutOfMemory } from './oom.js';
import { phaseInputs } from './inputs.js';
import type { PhaseOptions, PhaseResult } from './phase-types.js';
import { sourceOf } from './source.js';
import { adaptAfterTraining } from './domain-bn.js';
import { resumeStep, stepOf } from './steps.js';
import { softmaxCrossEntropy } from './softmax-loss.js';

export type { PhaseOptions, PhaseProgress, PhaseResult, PhaseResume, StageOutcome, StageSpec } from './phase-types.js';

const stageKey = (key: string, stage: number) => (stage === 1 ? key : `${key}_stage${stage}`);

/** "epoch 3/20", "stage 2 epoch 9/20", "source epoch 1/3": as the epoch's log line says it. */
export function epochLabel(phase: Phase, stage: number, epoch: number, lastEpoch: number): string {
  const prefix = phase === 'target' ? (stage > 1 ? `stage ${stage} ` : '') : `${phase} `;
  return `${prefix}epoch ${epoch + 1}/${lastEpoch}`;
}

export async function trainPhase(model: tf.LayersModel, o: PhaseOptions): Promise<PhaseResult> {
  const anchor = o.l2spWeight === undefined || o.l2spWeight === 0 ? undefined : anchorToStart(model, o.backbone, o.l2spWeight);
  try {
    return await trainStages(model, o);
  } finally {
    anchor?.dispose();
  }
}

async function trainStages(model: tf.LayersModel, o: PhaseOptions): Promise<PhaseResult> {
  const t0 = o.now();
  const records: StageRecord[] = [];
  let test: Evaluation | undefined;
  const otherTests: Record<string, Evaluation> = {};
  const lastEpoch = o.stages.reduce((sum, s) => sum + s.maxEpochs, 0);
  for (const [i, spec] of o.stages.entries()) {
    const stage = i + 1;
    const done = o.resume !== undefined && stage < o.resume.stage ? o.resume.earlierStages[i] : undefined;
    if (done !== undefined) {
      records.push(done);
      continue;
    }
    const resume = o.resume?.stage === stage ? o.resume : undefined;
    applyFreeze(model, o.backbone, spec.plan);
    const inputs = await phaseInputs(model, o.sets, o.input, o.progress === undefined ? o.cache : { ...o.cache, progress: o.progress }, o.adabn);
    try {
      const cacheTags = Object.fromEntries(Object.entries(inputs.cacheTags).map(([k, v]) => [stageKey(k, stage), v]));
      const backboneWeights = () => backboneLayers(model, o.backbone).flatMap(({ layer }) => layer.weights);
      const optimizer = stageOptimizer(backboneWeights, spec.learningRate, o.backboneLrFactor ?? 1);
      inputs.model.compile({ optimizer, loss: softmaxCrossEntropy, metrics: ['accuracy'] });
      // after the ridge probe, early stopping starts afresh: the probe's validation loss chose λ and the temperature, no fair bar
      const afterProbe = o.stages[i - 1]?.solver === 'ridge';
      const carried = resume === undefined && o.patience !== undefined && !afterProbe ? carriedBest(records.at(-1), inputs.model) : undefined;
      const stepResume = resumeStep(resume, carried);
      const tFit = o.now();
      const before = records.reduce((sum, r) => sum + r.epochs.length, 0);
      const result = await stepOf(spec, o.cache.logger).fit(inputs.model, {
        sources: inputs.sources,
        numClasses: o.numClasses,
        batchSize: o.batchSize,
        maxEpochs: spec.maxEpochs,
        firstEpoch: before,
        stage,
        patience: o.patience,
        seed: o.seed,
        now: o.now,
        onEpoch: (m) => o.onEpoch?.(m, { phase: o.phase, maxEpochs: lastEpoch }),
        onProgress: async (p) =>
          o.onProgress?.({ stage, stageDone: p.done, stageEpochs: p.epochs, earlierStages: records, earlyStop: p.earlyStop, stageTags: p.tags ?? {}, model: inputs.model, stepState: p.state }),
        ...(stepResume === undefined ? {} : { resume: stepResume }),
        ...(o.beforeBatch === undefined ? {} : { beforeBatch: o.beforeBatch }),
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.progress === undefined ? {} : { progress: { to: o.progress, label: (epoch: number) => epochLabel(o.phase, stage, epoch, lastEpoch) } }),
      });
      stepResume?.earlyStop?.weights?.forEach((t) => t.dispose());
      records.push({
        outcome: { stage, trainable: [...spec.plan.trainable], epochsRun: result.epochs.length, bestEpoch: result.bestEpoch, stoppedEarly: result.stoppedEarly },
        epochs: [...result.epochs],
        trainSeconds: (o.now() - tFit) / 1000,
        cacheSecondsSaved: inputs.savedSeconds(result.epochs.length),
        cacheTags: { ...cacheTags, ...result.tags, ...(result.batchStep === undefined ? {} : { [stageKey('transferkit.batch_step', stage)]: result.batchStep }) },
      });
      if (stage === o.stages.length) {
        const evaluateSet = (name: string, tta?: Exclude<TtaMode, 'none'>) => {
          const set = o.sets[name]?.set;
          if (set === undefined) throw new Error(`the phase has no ${name} set`);
          // test-time augmentation: the views of the images through the whole classifier
          const [m, source] = tta === undefined ? [inputs.model, sourceOf(inputs.sources, name)] : [model, ttaSource(set, o.input, tta)];
          const label = `${o.phase === 'target' ? '' : `${o.phase} `}${name.replace('_', ' ')} set`;
          return withProgress(o.progress, { label, total: source.count, unit: 'images' }, (task) =>
            reportingOutOfMemory(() => evaluate(m, source, o.numClasses, o.batchSize, task), o.batchSize, `evaluating the ${name} set`),
          );
        };
        if (o.adabn !== undefined) {
          for (const name of o.alsoEvaluate ?? []) otherTests[name] = await evaluateSet(name);
          const tags = await adaptAfterTraining(model, inputs.domain?.statistics, o.adabn, o.input, { batchSize: o.batchSize, memoryBudgetBytes: o.cache.memoryBudgetBytes });
          const record = records.pop();
          if (record !== undefined) records.push({ ...record, cacheTags: { ...record.cacheTags, ...tags } });
        }
        test = await evaluateSet('test', o.tta === undefined || o.tta === 'none' ? undefined : o.tta);
        if (o.adabn === undefined) for (const name of o.alsoEvaluate ?? []) otherTests[name] = await evaluateSet(name);
      }
    } finally {
      inputs.model.optimizer?.dispose(); // a stage's optimizer: passed to compile, so the model does not own it
      inputs.dispose();
    }
  }
  const last = records.at(-1)?.outcome;
  if (test === undefined || last === undefined) throw new Error('trainPhase needs at least one stage');
  return {
    epochs: records.flatMap((r) => r.epochs),
    stages: records.map((r) => r.outcome),
    test,
    ...(Object.keys(otherTests).length === 0 ? {} : { otherTests }),
    bestEpoch: last.bestEpoch,
    stoppedEarly: last.stoppedEarly,
    trainSeconds: records.reduce((sum, r) => sum + r.trainSeconds, 0),
    seconds: (o.now() - t0) / 1000,
    cacheTags: Object.assign({}, ...records.map((r) => r.cacheTags)),
    cacheSecondsSaved: records.reduce((sum, r) => sum + r.cacheSecondsSaved, 0),
  };
}
