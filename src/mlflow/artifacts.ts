/**
 * Run artifacts through the tracking server's artifact proxy (`mlflow server --serve-artifacts`):
 * `PUT|GET /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>` and
 * `GET /api/2.0/mlflow-artifacts/artifacts?path=...`. Uploads stream from disk, a fresh stream per attempt.
 */
import { createReadStream, type ReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describeValue } from '../errors.js';
import { MlflowUsageError } from './errors.js';
import type { MlflowHttp } from './http.js';
import { listArtifactsResponse } from './schemas.js';

const ROUTE = '/api/2.0/mlflow-artifacts/artifacts';

export interface RunArtifactsOptions {
  /**
   * Absolute local directory that the tracking server's `--artifacts-destination` points at (a
   * server this process started over a local store). A run whose artifact_uri is a local path
   * (`/abs` or `file:///abs`) inside it is then written through the server too.
   */
  readonly localArtifactsDestination?: string;
}

export interface ArtifactEntry {
  /** Relative to the run's artifact root, `/`-separated. */
  readonly path: string;
  readonly isDir: boolean;
  readonly fileSize?: number;
}

/** Splits an artifact path into safe segments. Rejects absolute paths, `..`/`.`/empty segments, `\`, `#` and NUL. */
export function artifactPathSegments(path: string, options: { allowEmpty?: boolean } = {}): string[] {
  if (path === '') {
    if (options.allowEmpty === true) return [];
    throw new MlflowUsageError('artifact path is empty; expected a relative path such as "model/model.json"');
  }
  const bad = (why: string): never => {
    throw new MlflowUsageError(`artifact path ${describeValue(path)} ${why}; expected a relative path with "/" separators`);
  };
  if (path.includes('\0')) bad('contains a NUL character');
  if (path.includes('\\')) bad('contains a backslash');
  if (path.includes('#')) bad('contains "#", which the MLflow server rejects in artifact paths');
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) bad('is absolute');
  const segments = path.split('/');
  if (segments.some((seg) => seg === '..')) bad('has a ".." segment');
  if (segments.some((seg) => seg === '.')) bad('has a "." segment');
  if (segments.some((seg) => seg === '')) bad('has an empty segment ("//" or a trailing "/")');
  return segments;
}

/** The run's artifact root as segments below the server's artifacts destination. */
export function artifactRootSegments(artifactUri: string, trackingUri: string, options: RunArtifactsOptions = {}): string[] {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(artifactUri)?.[1]?.toLowerCase();
  if (scheme === 'mlflow-artifacts') {
    const url = new URL(artifactUri);
    const tracking = new URL(trackingUri);
    if (url.host !== '' && url.host !== tracking.host) {
      throw new MlflowUsageError(
        `run artifact URI ${artifactUri} names server ${url.host}, but the tracking URI is ${trackingUri}; ` +
          'this client only talks to the configured tracking server',
      );
    }
    const raw = url.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
    return artifactPathSegments(raw.split('/').map(decodeURIComponent).join('/'), { allowEmpty: true });
  }
  const local = scheme === 'file' ? fileURLToPath(artifactUri) : scheme === undefined && isAbsolute(artifactUri) ? artifactUri : undefined;
  const destination = options.localArtifactsDestination;
  if (local !== undefined && destination !== undefined) {
    const rel = relative(resolve(destination), resolve(local));
    if (rel !== '' && !rel.startsWith('..') && !isAbsolute(rel)) return rel.split(sep);
  }
  const store = scheme ?? (local !== undefined ? 'a local directory' : 'unknown');
  throw new MlflowUsageError(
    `the run's artifact store is ${artifactUri} (${store}${scheme === undefined ? '' : ':'}); transferkit can only write artifacts ` +
      'through an MLflow tracking server started with --serve-artifacts, whose runs have mlflow-artifacts:/ URIs' +
      (local !== undefined ? `, or through the local server it starts over that store (artifacts destination: ${destination ?? 'none'})` : ''),
  );
}

/** Artifacts of one run. Construction fails fast when the run's artifact store cannot be written. */
export class RunArtifacts {
  private readonly root: string[];

  constructor(
    private readonly http: MlflowHttp,
    artifactUri: string,
    options: RunArtifactsOptions = {},
  ) {
    this.root = artifactRootSegments(artifactUri, http.trackingUri, options);
  }

  /** Uploads one file to `artifactPath` (a file path below the run's artifact root). */
  async uploadFile(localPath: string, artifactPath: string): Promise<void> {
    const info = await stat(localPath);
    if (!info.isFile()) throw new MlflowUsageError(`cannot upload ${localPath}: not a regular file`);
    const path = this.route(artifactPathSegments(artifactPath));
    // One stream per attempt; an attempt that never read its stream (connection refused) must not leak the fd.
    const opened: ReadStream[] = [];
    const closeAll = (): void => opened.forEach((stream) => stream.destroy());
    const body = () => {
      closeAll();
      const stream = createReadStream(localPath);
      opened.push(stream);
      return Readable.toWeb(stream);
    };
    try {
      await this.http.call({ method: 'PUT', path, headers: { 'content-type': 'application/octet-stream' }, body }, async (res) => {
        await res.arrayBuffer();
      });
    } finally {
      closeAll();
    }
  }

  /** Uploads every file below `localDir` (recursively) under `artifactPath`; returns the artifact paths written. */
  async uploadDirectory(localDir: string, artifactPath = ''): Promise<string[]> {
    const prefix = artifactPathSegments(artifactPath, { allowEmpty: true });
    const uploaded: string[] = [];
    for (const rel of await listFiles(localDir)) {
      const target = [...prefix, ...rel].join('/');
      await this.uploadFile(join(localDir, ...rel), target);
      uploaded.push(target);
    }
    return uploaded;
  }

  /** Direct children of `artifactPath` ('' = the run's root). A missing directory lists as empty. */
  async list(artifactPath = ''): Promise<ArtifactEntry[]> {
    const rel = artifactPathSegments(artifactPath, { allowEmpty: true });
    const res = await this.http.json({ method: 'GET', path: ROUTE, query: { path: [...this.root, ...rel].join('/') } }, listArtifactsResponse);
    return res.files.map((file) => {
      const name = file.path.split('/').pop() ?? file.path;
      const path = [...rel, name].join('/');
      return file.file_size === undefined ? { path, isDir: file.is_dir } : { path, isDir: file.is_dir, fileSize: file.file_size };
    });
  }

  /** Every file below `artifactPath`, depth first, sorted by path. */
  async listFiles(artifactPath = ''): Promise<ArtifactEntry[]> {
    const out: ArtifactEntry[] = [];
    for (const entry of await this.list(artifactPath)) {
      if (entry.isDir) out.push(...(await this.listFiles(entry.path)));
      else out.push(entry);
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The bytes of one artifact file. */
  async download(artifactPath: string): Promise<Buffer> {
    const path = this.route(artifactPathSegments(artifactPath));
    return this.http.call({ method: 'GET', path }, async (res) => Buffer.from(await res.arrayBuffer()));
  }

  private route(rel: readonly string[]): string {
    return `${ROUTE}/${[...this.root, ...rel].map(encodeURIComponent).join('/')}`;
  }
}

/** Relative paths (as segments) of the regular files below `dir`, sorted; symlinks to files count as files. */
export async function listFiles(dir: string, prefix: string[] = []): Promise<string[][]> {
  const entries = await readdir(join(dir, ...prefix), { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[][] = [];
  for (const entry of entries) {
    const rel = [...prefix, entry.name];
    if (entry.isDirectory()) files.push(...(await listFiles(dir, rel)));
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(join(dir, ...rel))).isFile())) files.push(rel);
    else throw new MlflowUsageError(`cannot upload ${join(dir, ...rel)}: not a regular file or directory`);
  }
  return files;
}
