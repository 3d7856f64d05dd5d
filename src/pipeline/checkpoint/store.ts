/**
 * The checkpoint folder: `ckpt-<epoch>.tkckpt` files written atomically (temp file, fsync, rename,
 * fsync of the folder), the newest two kept. Reading takes the newest file that is whole; a damaged
 * one is reported and skipped, never trusted.
 */
import { mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../log.js';
import { writeFileAtomic } from '../../fs-atomic.js';
import { decodeCheckpoint, type RawTensor } from './format.js';
import { CheckpointError } from '../../errors.js';
import { CHECKPOINT_FORMAT_VERSION, manifestSchema, type Manifest } from './state.js';

export const CHECKPOINT_SUFFIX = '.tkckpt';
const KEEP = 2;

export interface LoadedCheckpoint {
  readonly path: string;
  readonly manifest: Manifest;
  readonly tensors: Readonly<Record<string, readonly RawTensor[]>>;
}

/** Test hook: called before a checkpoint is written (fault injection, src/faults.ts). */
export type BeforeWrite = (path: string, epoch: number, bytes: Uint8Array) => Promise<void> | void;

const PHASE_ORDER = { source: 0, target: 1, scratch: 2 } as const;

/** Names sort in the order the run writes them: phase, then epoch (+1 for the one before epoch 0). */
const fileName = (m: Manifest) =>
  `ckpt-${PHASE_ORDER[m.phase]}-${String(m.epoch + 1).padStart(7, '0')}-${m.stage_done ? 'd' : 'r'}-${m.phase}-stage${m.stage}${CHECKPOINT_SUFFIX}`;

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Checkpoint files, oldest first (their names sort in save order). */
async function listFiles(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch((e: unknown) => {
    // no folder yet (or a file in its way: reported when the run checks its output folders)
    if (e instanceof Error && 'code' in e && (e.code === 'ENOENT' || e.code === 'ENOTDIR')) return [];
    throw e;
  });
  return names.filter((n) => n.endsWith(CHECKPOINT_SUFFIX) && n.startsWith('ckpt-')).sort().map((n) => join(dir, n));
}

/** A whole checkpoint of another format version is not damaged: it is refused, never skipped. */
function refuseOtherFormat(path: string, manifest: unknown): void {
  if (typeof manifest !== 'object' || manifest === null || !('format' in manifest) || !('version' in manifest)) return;
  if (manifest.format !== 'transferkit-checkpoint' || manifest.version === CHECKPOINT_FORMAT_VERSION) return;
  throw new CheckpointError(
    `Checkpoint ${path} has format version ${String(manifest.version)}, this transferkit reads version ${CHECKPOINT_FORMAT_VERSION} ` +
      '(a checkpoint of another format cannot be continued); pass resume=never to start over, or delete the file',
  );
}

export class CheckpointStore {
  constructor(
    readonly dir: string,
    private readonly logger: Logger,
    private readonly beforeWrite?: BeforeWrite,
  ) {}

  async write(manifest: Manifest, bytes: Buffer): Promise<string> {
    await mkdir(this.dir, { recursive: true });
    const path = join(this.dir, fileName(manifest));
    await this.beforeWrite?.(path, manifest.epoch, bytes);
    await writeFileAtomic(path, bytes);
    await syncDir(this.dir);
    await this.#prune(path);
    return path;
  }

  /** The newest whole checkpoint, or undefined when there is none. */
  async latest(): Promise<LoadedCheckpoint | undefined> {
    for (const path of (await listFiles(this.dir)).reverse()) {
      try {
        const decoded = decodeCheckpoint(await readFile(path));
        refuseOtherFormat(path, decoded.manifest);
        const manifest = manifestSchema.safeParse(decoded.manifest);
        if (!manifest.success) throw new Error(`manifest does not match the checkpoint schema: ${manifest.error.issues[0]?.message ?? ''}`);
        return { path, manifest: manifest.data, tensors: decoded.tensors };
      } catch (error) {
        if (error instanceof CheckpointError) throw error;
        this.logger.warn({ file: path, reason: error instanceof Error ? error.message : String(error) }, 'ignoring a damaged checkpoint; trying the one before it');
      }
    }
    return undefined;
  }

  /** Removes every checkpoint (a fresh start). */
  async clear(): Promise<void> {
    for (const path of await listFiles(this.dir)) await rm(path, { force: true });
  }

  async #prune(keep: string): Promise<void> {
    const older = (await listFiles(this.dir)).filter((p) => p !== keep);
    for (const path of older.slice(0, Math.max(0, older.length - (KEEP - 1)))) await rm(path, { force: true });
  }
}
