/**
 * Artifacts of a run in a local store whose artifact URI is a folder on this machine (`/abs` or
 * `file:///abs`), e.g. `./mlruns/<exp>/<run>/artifacts` when `mlflow run` used MLflow's default
 * store. They are copied there directly, as MLflow's own LocalArtifactRepository does; paths are
 * sanitized like remote artifact paths, and each file lands whole (temp + rename).
 */
import { copyFile, mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { artifactPathSegments, listFiles } from '../mlflow/artifacts.js';

export interface ArtifactWriter {
  uploadFile(localPath: string, artifactPath: string): Promise<void>;
  uploadDirectory(localDir: string, artifactPath?: string): Promise<string[]>;
}

/** The local folder an artifact URI names, or undefined when it is not a local path. */
export function localArtifactRoot(artifactUri: string): string | undefined {
  if (/^file:/i.test(artifactUri)) return fileURLToPath(artifactUri);
  return !/^[A-Za-z][A-Za-z0-9+.-]*:/.test(artifactUri) && isAbsolute(artifactUri) ? artifactUri : undefined;
}


export class LocalRunArtifacts implements ArtifactWriter {
  constructor(private readonly root: string) {}

  async uploadFile(localPath: string, artifactPath: string): Promise<void> {
    const target = join(this.root, ...artifactPathSegments(artifactPath));
    await mkdir(join(target, '..'), { recursive: true });
    const temp = `${target}.tmp-${process.pid}`;
    try {
      await copyFile(localPath, temp);
      await rename(temp, target);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  async uploadDirectory(localDir: string, artifactPath = ''): Promise<string[]> {
    const prefix = artifactPathSegments(artifactPath, { allowEmpty: true });
    const written: string[] = [];
    for (const rel of await listFiles(localDir)) {
      const path = [...prefix, ...rel].join('/');
      await this.uploadFile(join(localDir, ...rel), path);
      written.push(path);
    }
    return written;
  }
}
