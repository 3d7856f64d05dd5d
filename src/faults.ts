/**
 * Fault injection for the crash-safety suite, off unless TRANSFERKIT_FAULT is set. Faults happen
 * for real at the named point: the process kills itself with SIGKILL (no cleanup runs), a NaN is
 * written into a trainable weight so the next loss is NaN, a write fails with ENOSPC.
 *
 *   kill@batch:E:B       SIGKILL before batch B (1-based) of epoch E (1-based, counted over the run)
 *   nan@batch:E:B        a trainable weight becomes NaN before batch B of epoch E
 *   kill@checkpoint:E    SIGKILL halfway through writing epoch E's checkpoint (a partial temp file)
 *   enospc@checkpoint:E  writing epoch E's checkpoint fails with ENOSPC (disk full)
 *   kill@upload          SIGKILL while the model is being uploaded to MLflow
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type FaultKind = 'kill' | 'nan' | 'enospc';
export interface Fault {
  readonly kind: FaultKind;
  readonly at: 'batch' | 'checkpoint' | 'upload';
  readonly epoch?: number;
  readonly batch?: number;
}

const PATTERN = /^(kill|nan|enospc)@(batch|checkpoint|upload)(?::(\d+))?(?::(\d+))?$/;

export function parseFault(text: string | undefined): Fault | undefined {
  if (text === undefined || text === '') return undefined;
  const m = PATTERN.exec(text.trim());
  if (m === null) throw new Error(`TRANSFERKIT_FAULT=${JSON.stringify(text)} is not a fault (see src/faults.ts)`);
  const [, kind, at, epoch, batch] = m;
  if ((kind !== 'kill' && kind !== 'nan' && kind !== 'enospc') || (at !== 'batch' && at !== 'checkpoint' && at !== 'upload')) throw new Error('unreachable');
  return { kind, at, ...(epoch === undefined ? {} : { epoch: Number(epoch) }), ...(batch === undefined ? {} : { batch: Number(batch) }) };
}

const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('SIGKILL did not stop the process');
};

export interface FaultHooks {
  beforeBatch?(model: tf.LayersModel, epoch: number, batch: number): void;
  beforeCheckpointWrite?(path: string, epoch: number, bytes: Uint8Array): void;
  beforeUpload?(): void;
}

/** Hooks for the fault in `env` (none when unset). Epochs and batches are 0-based at the hooks. */
export function faultHooks(env: Readonly<Record<string, string | undefined>>): FaultHooks {
  const fault = parseFault(env['TRANSFERKIT_FAULT']);
  if (fault === undefined) return {};
  const atEpoch = (epoch: number) => fault.epoch === undefined || fault.epoch === epoch + 1;
  return {
    beforeBatch: (model, epoch, batch) => {
      if (fault.at !== 'batch' || !atEpoch(epoch) || (fault.batch ?? 1) !== batch + 1) return;
      if (fault.kind === 'kill') die();
      if (fault.kind === 'nan') {
        const w = model.trainableWeights[0];
        if (w !== undefined) w.write(tf.mul(w.read(), Number.NaN));
      }
    },
    beforeCheckpointWrite: (path, epoch, bytes) => {
      if (fault.at !== 'checkpoint' || !atEpoch(epoch)) return;
      if (fault.kind === 'enospc') throw Object.assign(new Error(`ENOSPC: no space left on device, write '${path}'`), { code: 'ENOSPC' });
      if (fault.kind === 'kill') {
        writeFileSync(join(dirname(path), `.${basename(path)}.tmp-${process.pid}-partial`), bytes.subarray(0, Math.floor(bytes.byteLength / 2)));
        die();
      }
    },
    beforeUpload: () => {
      if (fault.at === 'upload' && fault.kind === 'kill') die();
    },
  };
}
