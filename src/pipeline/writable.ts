/**
 * Output folders are checked before any training: a folder that cannot be written (read-only,
 * permissions, a file in the way) is a clear error up front, not a crash after an hour of work.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ParamError } from '../errors.js';

export async function ensureWritable(dir: string, param: string): Promise<void> {
  const probe = join(dir, `.transferkit-write-test-${process.pid}`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? String(error.code) : 'error';
    const why = code === 'EROFS' ? 'the file system is read-only' : code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'ENOSPC' ? 'the disk is full' : code === 'ENOTDIR' || code === 'EEXIST' ? 'a file is in the way' : 'it cannot be written';
    throw new ParamError(param, `Parameter "${param}": the folder ${dir} cannot be written (${why}, ${code}); expected a writable folder — choose another with ${param}=PATH`, { cause: error });
  }
}
