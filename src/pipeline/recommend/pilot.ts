/**
 * Pilot runs (issue 17): when the strategy table is unsure between a few settings, `recommend` trains
 * each candidate briefly on the target's labelled images and keeps the one with the best held-out
 * accuracy. A pilot is an ordinary training run (../run.ts) with train's parameters plus the
 * candidate's overrides, at most `maxEpochs` epochs, on the pilots' own split of the labelled budget
 * (./pilot-split.ts): every candidate trains and validates on the same images and is scored on the
 * same held-out ones, never on the dataset's test set. Pilots run one after another, each in a
 * temporary output folder that is removed afterwards; the activation cache stays on (keyed by
 * content, so pilots of frozen settings share it). Knows nothing of MLflow.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { InternalError, ParamError } from '../../errors.js';
import { usesAdaptation } from '../adapt/adapt-params.js';
import type { ImageSet } from '../data/types.js';
import type { PipelineDeps } from '../deps.js';
import { getBackbone } from '../model/backbones.js';
import { chooseHeadSolver } from '../params/head-solver.js';
import { parseParams } from '../params/parse.js';
import { trainParamsSchema, type TrainParams } from '../params/train.js';
import { prepareRun } from '../prepare-run.js';
import { runTraining, type RunDeps } from '../run.js';
import { labelledBudget, splitForPilots, withPilotSets, type PilotSplit } from './pilot-split.js';

export interface PilotCandidate {
  /** e.g. 'retrained_conv_layers=0', 'retrained_blocks=1', 'weights=none retrained_conv_layers=all' */
  readonly setting: string;
  /** Train parameter overrides as strings, exactly like Advice.params (advice.ts). */
  readonly params: Readonly<Record<string, string>>;
}

export interface PilotScore {
  readonly setting: string;
  /** Accuracy on the pilot's held-out images (never the dataset's test set). */
  readonly heldOutAccuracy: number;
  readonly heldOutLoss: number;
  readonly heldOutImages: number;
  /** Images the pilot trained on (after its own validation split). */
  readonly trainImages: number;
  readonly validationImages: number;
  /** Epochs it ran (the ridge probe counts as one). */
  readonly epochs: number;
  readonly seconds: number;
  /** The head solver (ridge/adam) the pilot used: what head_solver=auto chose for the candidate's full run. */
  readonly headSolver: string;
}

export interface PilotOptions {
  readonly maxEpochs: number;
  /** Fraction of each class's labelled images held out for scoring. */
  readonly holdOutFraction: number;
}

/** Overrides that would change the labelled images or their split: every pilot must see the same ones. */
const SAME_DATA = ['dataset', 'data_dir', 'classes', 'samples_per_class', 'validation_fraction', 'seed', 'backbone', 'input_size'] as const;

const isTrainParam = (name: string): name is keyof TrainParams => Object.hasOwn(trainParamsSchema.shape, name);

/** The candidate's training parameters: `base` with its overrides (parsed by train's schema), shortened to a pilot. */
export function pilotParams(base: TrainParams, candidate: PilotCandidate, options: PilotOptions): TrainParams {
  const given = parseParams(trainParamsSchema, candidate.params);
  const overrides: Partial<TrainParams> = {};
  const copy = <K extends keyof TrainParams>(name: K) => {
    overrides[name] = given[name];
  };
  for (const name of Object.keys(candidate.params)) {
    if (!isTrainParam(name)) throw new InternalError(`parseParams let the unknown parameter "${name}" through`);
    if (SAME_DATA.some((n) => n === name)) {
      throw new ParamError(name, `Pilot candidate "${candidate.setting}" sets ${name}=${candidate.params[name] ?? ''}; pilots compare settings on the same labelled images, so ${SAME_DATA.join(', ')} must stay as the base gives them`);
    }
    copy(name);
  }
  const full: TrainParams = { ...base, ...overrides };
  if (full.source_classes !== undefined) throw new ParamError('source_classes', `Pilot candidate "${candidate.setting}" has source_classes=${full.source_classes}: a pilot trains the target model only, expected no source model (source_classes empty)`);
  if (full.compare_scratch) throw new ParamError('compare_scratch', `Pilot candidate "${candidate.setting}" has compare_scratch=1: a pilot trains the target model only, expected compare_scratch=0`);
  if (usesAdaptation(full)) throw new ParamError('adaptation', `Pilot candidate "${candidate.setting}" uses domain adaptation (adaptation=${full.adaptation}, target_dataset=${full.target_dataset ?? ''}): pilots score supervised training on the target's labels, expected adaptation=none and no target_* parameters`);
  const cap = (epochs: number) => Math.min(options.maxEpochs, epochs);
  return {
    ...full,
    // head_solver=auto reads max_epochs: the solver is the full run's, chosen before the pilot shortens it
    head_solver: chooseHeadSolver(full, getBackbone(full.backbone)).solver,
    max_epochs: cap(full.max_epochs),
    fine_tune_epochs: full.fine_tune_epochs === 0 ? 0 : cap(full.fine_tune_epochs),
    resume: 'never',
    register_model: undefined,
    output_dir: undefined,
    checkpoint_dir: undefined,
  };
}

/** What a pilot reads back from its metrics.json: the epochs it ran and the solver it used. */
const metricsFile = z.object({ epochs: z.array(z.unknown()), resolvedParams: z.object({ head_solver: z.string() }) });

const sameImages = (a: ImageSet, b: ImageSet) =>
  a.count === b.count && a.height === b.height && a.width === b.width && a.channels === b.channels &&
  Buffer.from(a.images).equals(Buffer.from(b.images)) && Buffer.from(a.labels.buffer, a.labels.byteOffset, a.labels.byteLength).equals(Buffer.from(b.labels.buffer, b.labels.byteOffset, b.labels.byteLength));

function checkOptions(options: PilotOptions): void {
  if (!Number.isSafeInteger(options.maxEpochs) || options.maxEpochs < 1) throw new InternalError(`the pilots' maxEpochs must be a whole number of at least 1, got ${options.maxEpochs}`);
  if (!(options.holdOutFraction > 0 && options.holdOutFraction < 1)) throw new InternalError(`the pilots' holdOutFraction must be in (0, 1), got ${options.holdOutFraction}`);
}

/** Trains each candidate briefly, one after another, and scores it on the same held-out images. */
export async function runPilots(base: TrainParams, candidates: readonly PilotCandidate[], options: PilotOptions, deps: PipelineDeps): Promise<readonly PilotScore[]> {
  checkOptions(options);
  const params = candidates.map((c) => pilotParams(base, c, options)); // every candidate checked before any trains
  let first: { budget: ImageSet; split: PilotSplit } | undefined;
  const scores: PilotScore[] = [];
  for (const [i, candidate] of candidates.entries()) {
    const p = params[i];
    if (p === undefined) throw new InternalError(`no parameters for pilot ${i}`);
    deps.signal?.throwIfAborted();
    const t0 = deps.now();
    const logger = deps.logger.child({ pilot: candidate.setting });
    const prepared = await prepareRun(p, { ...deps, logger });
    const budget = labelledBudget(prepared.plan);
    if (first === undefined) {
      first = { budget, split: splitForPilots(budget, { holdOutFraction: options.holdOutFraction, validationFraction: p.validation_fraction, seed: p.seed, classNames: prepared.plan.target.classNames }) };
    } else if (!sameImages(first.budget, budget)) {
      throw new InternalError(`pilot "${candidate.setting}" drew other labelled images than the first pilot`);
    }
    const { split } = first;
    await mkdir(deps.outputDir, { recursive: true });
    const dir = await mkdtemp(join(deps.outputDir, '.pilot-'));
    try {
      // only what a run needs: no MLflow run id, no events
      const runDeps: RunDeps = {
        logger, env: deps.env, fetch: deps.fetch, now: deps.now, cwd: deps.cwd, cacheDir: deps.cacheDir, outputDir: dir,
        ...(deps.progress === undefined ? {} : { progress: deps.progress }),
        ...(deps.signal === undefined ? {} : { signal: deps.signal }),
      };
      const finished = await runTraining(p, runDeps, withPilotSets(prepared, split));
      if (finished.test.count !== split.heldOut.count) throw new InternalError(`pilot "${candidate.setting}" evaluated ${finished.test.count} images, not its ${split.heldOut.count} held-out ones`);
      const metrics = metricsFile.parse(JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')));
      const score: PilotScore = {
        setting: candidate.setting,
        heldOutAccuracy: finished.test.accuracy,
        heldOutLoss: finished.test.loss,
        heldOutImages: finished.test.count,
        trainImages: split.train.count,
        validationImages: split.validation.count,
        epochs: metrics.epochs.length,
        seconds: (deps.now() - t0) / 1000,
        headSolver: metrics.resolvedParams.head_solver,
      };
      deps.logger.info({ setting: score.setting, held_out_accuracy: score.heldOutAccuracy, held_out_images: score.heldOutImages, epochs: score.epochs, head_solver: score.headSolver, seconds: score.seconds }, 'pilot finished');
      scores.push(score);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return scores;
}
