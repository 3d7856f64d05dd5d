/**
 * A run's checkpoints: at the end of every epoch of every phase, the state to continue exactly
 * (see state.ts); on start, the newest whole checkpoint of the same inputs to continue from. A
 * checkpoint of other inputs is refused, saying what differs. Phases already finished are carried
 * in every later checkpoint, so a resumed run skips them.
 */
import type { Logger } from '../../log.js';
import { CheckpointError } from '../../errors.js';
import type { Phase, PipelineEvents } from '../events.js';
import type { TrainParams } from '../params/train.js';
import type { EarlyStopState } from '../train/early-stop.js';
import type { EpochMetrics } from '../train/fit.js';
import type { PhaseProgress, PhaseResult, PhaseResume } from '../train/stages.js';
import { encodeCheckpoint } from './format.js';
import { CHECKPOINT_FORMAT_VERSION, fingerprintDiff, type Fingerprint, type Manifest } from './state.js';
import type { CheckpointStore, LoadedCheckpoint } from './store.js';
import { earlyStopFrom, restoreTensors, snapshotTensors } from './tensors.js';

/** A checkpoint could not be written, or cannot be used. */
export { CheckpointError };

export interface RunCheckpointsOptions {
  readonly store: CheckpointStore;
  readonly fingerprint: Fingerprint;
  /** The MLflow run, or how to ask for it at each checkpoint (a run the tracking server is still creating). */
  readonly runId: string | undefined | (() => string | undefined);
  /** The client token the run is created with, recorded too (the run id may not be known yet). */
  readonly runToken?: string;
  readonly now: () => number;
  readonly logger: Logger;
  /** `auto`: continue from a matching checkpoint; `never`: discard checkpoints and start over. */
  readonly policy: 'auto' | 'never';
}

type Completed = Manifest['completed_phases'];

/** Parameters that do not change what is computed, so a resumed run may differ in them. */
const NOT_FINGERPRINTED = new Set(['output_dir', 'cache_dir', 'checkpoint_dir', 'resume']);

/** The parameters part of a checkpoint's fingerprint: every computing parameter, as JSON text. */
export function fingerprintParams(params: TrainParams): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter(([k]) => !NOT_FINGERPRINTED.has(k)).map(([k, v]) => [k, JSON.stringify(v ?? null)]));
}

export class RunCheckpoints {
  #completed: Completed = {};
  #last: string | undefined;

  private constructor(
    private readonly o: RunCheckpointsOptions,
    readonly resumed: LoadedCheckpoint | undefined,
  ) {
    if (resumed !== undefined) this.#completed = { ...resumed.manifest.completed_phases };
  }

  static async open(o: RunCheckpointsOptions): Promise<RunCheckpoints> {
    if (o.policy === 'never') {
      await o.store.clear();
      return new RunCheckpoints(o, undefined);
    }
    const found = await o.store.latest();
    if (found === undefined) return new RunCheckpoints(o, undefined);
    const diff = fingerprintDiff(found.manifest.fingerprint, o.fingerprint);
    if (diff.length > 0) {
      throw new CheckpointError(
        `The checkpoint ${found.path} was made with other inputs, so this run cannot continue it: ${diff.join('; ')}. ` +
          'Run with the same parameters and data to resume it, or pass resume=never (or another output_dir/checkpoint_dir) to start over.',
      );
    }
    const m = found.manifest;
    o.logger.info({ checkpoint: found.path, phase: m.phase, stage: m.stage, epoch: m.epoch + 1, run_id: m.run_id }, 'resuming from a checkpoint');
    return new RunCheckpoints(o, found);
  }

  /** The run id the checkpoint was made for (to log into the same MLflow run). */
  get runId(): string | null | undefined {
    return this.resumed?.manifest.run_id;
  }

  /** Sends the epochs the checkpoint holds again, so tracking has every point (identical ones are dropped). */
  async replay(events: PipelineEvents | undefined): Promise<void> {
    const m = this.resumed?.manifest;
    if (m === undefined || events?.epoch === undefined) return;
    const send = async (phase: Phase, epochs: readonly EpochMetrics[]) => {
      for (const e of epochs) await events.epoch?.(e, { phase, maxEpochs: 0, replayed: true });
    };
    for (const phase of ['source', 'target'] as const) await send(phase, m.completed_phases[phase]?.epochs ?? []);
    await send(m.phase, [...m.earlier_stages.flatMap((r) => r.epochs), ...m.stage_epochs]);
  }

  /** A phase's result when a checkpoint says it already finished. */
  completed(phase: Exclude<Phase, 'scratch'>): PhaseResult | undefined {
    return this.#completed[phase];
  }

  markCompleted(phase: Exclude<Phase, 'scratch'>, result: PhaseResult): void {
    this.#completed = { ...this.#completed, [phase]: result };
  }

  /**
   * How to continue `phase` from the checkpoint, when the checkpoint is inside it. Tensors that do
   * not fit the model (same fingerprint, another build of the code, an altered file) stop the run
   * with a CheckpointError naming the file and the way to start over.
   */
  resumeFor(phase: Phase): PhaseResume | undefined {
    const found = this.resumed;
    if (found === undefined || found.manifest.phase !== phase) return undefined;
    const m = found.manifest;
    const unfit = (error: unknown) =>
      new CheckpointError(
        `The checkpoint ${found.path} does not fit the model this run builds (${error instanceof Error ? error.message : String(error)}), ` +
          'so this run cannot continue it; it was written by another version of transferkit or altered. ' +
          'Pass resume=never (or another output_dir/checkpoint_dir) to start over.',
        { cause: error },
      );
    let earlyStop: EarlyStopState | undefined;
    try {
      earlyStop = earlyStopFrom(m.early_stop, found.tensors);
    } catch (error) {
      throw unfit(error);
    }
    return {
      stage: m.stage,
      earlierStages: m.earlier_stages,
      fit: { epochs: m.stage_epochs, done: m.stage_done, earlyStop, ...(m.stage_tags === undefined ? {} : { tags: m.stage_tags }) },
      stepState: found.tensors['step'] ?? [],
      restore: (model, extraTrainable) =>
        restoreTensors(model, found.tensors, extraTrainable ?? []).catch((error: unknown) => {
          throw unfit(error);
        }),
    };
  }

  /** The per-epoch hook of a phase: writes a checkpoint, or stops the run clearly when it cannot. */
  progress(phase: Phase): (p: PhaseProgress) => Promise<void> {
    return async (p) => {
      const last = p.stageEpochs.at(-1);
      const manifest: Manifest = {
        format: 'transferkit-checkpoint',
        version: CHECKPOINT_FORMAT_VERSION,
        run_id: (typeof this.o.runId === 'function' ? this.o.runId() : this.o.runId) ?? null,
        ...(this.o.runToken === undefined ? {} : { run_token: this.o.runToken }),
        fingerprint: this.o.fingerprint,
        phase,
        stage: p.stage,
        epoch: last?.epoch ?? -1,
        stage_done: p.stageDone,
        stage_epochs: [...p.stageEpochs],
        stage_tags: { ...p.stageTags },
        earlier_stages: [...p.earlierStages],
        early_stop: p.earlyStop === undefined ? null : { bestLoss: p.earlyStop.bestLoss, bestEpoch: p.earlyStop.bestEpoch, wait: p.earlyStop.wait },
        completed_phases: this.#completed,
        saved_at: this.o.now(),
      };
      const bytes = encodeCheckpoint(manifest, await snapshotTensors(p.model, p.earlyStop, p.stepState));
      try {
        this.#last = await this.o.store.write(manifest, bytes);
      } catch (error) {
        const code = error instanceof Error && 'code' in error ? ` (${String(error.code)})` : '';
        throw new CheckpointError(
          `Could not write the checkpoint of epoch ${manifest.epoch + 1} to ${this.o.store.dir}${code}: ${error instanceof Error ? error.message : String(error)}. ` +
            `${this.#last === undefined ? 'No earlier checkpoint exists.' : `The previous checkpoint ${this.#last} is intact.`} ` +
            'Free space (or fix the folder) and run the same command again to resume.',
          { cause: error },
        );
      }
    };
  }
}
