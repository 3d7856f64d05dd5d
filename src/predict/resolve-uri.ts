/**
 * A model URI → a local model folder. A local path is used as it is; `runs:/<run_id>/<path>`,
 * `models:/<name>/<version>` (or `/latest`), `models:/<name>@<alias>` and `models:/<model_id>`
 * are looked up on the tracking server (MLFLOW_TRACKING_URI) and their files downloaded through
 * mlflow-artifacts into `<cacheDir>/mlflow-models/<key>`: into a temp folder first, renamed into
 * place once complete, so a folder under its final name is always whole and is re-used as it is.
 * Artifact paths from the server are checked: no "..", no absolute paths, nothing outside the folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { ModelError } from '../errors.js';
import type { Logger } from '../log.js';
import { RunArtifacts, artifactPathSegments } from '../mlflow/artifacts.js';
import { MlflowClient } from '../mlflow/client.js';
import type { Env, FetchLike } from '../mlflow/http.js';
import { MlflowModels } from '../mlflow/models.js';
import { locateModel, parseModelUri, type ModelSource } from './locate-model.js';

export { parseModelUri, type ParsedModelUri } from './locate-model.js';

export interface ResolveDeps {
  readonly env: Env;
  readonly fetch: FetchLike;
  readonly logger: Logger;
  /** Downloads go to `<cacheDir>/mlflow-models/`. */
  readonly cacheDir: string;
}

export async function resolveModelUri(uri: string, deps: ResolveDeps): Promise<string> {
  const parsed = parseModelUri(uri);
  if (parsed.kind === 'local') return parsed.path;
  const trackingUri = deps.env['MLFLOW_TRACKING_URI'] ?? '';
  if (!/^https?:\/\//i.test(trackingUri)) {
    throw new ModelError(
      `model URI ${uri} is looked up on an MLflow tracking server, but MLFLOW_TRACKING_URI is ${trackingUri === '' ? 'not set' : JSON.stringify(trackingUri)}; set it to the server's http(s):// address (e.g. http://127.0.0.1:5000)`,
    );
  }
  const client = new MlflowClient({ trackingUri, fetch: deps.fetch, env: deps.env });
  try {
    const source = await locateModel(uri, parsed, client, new MlflowModels(client.http));
    if (source.kind === 'local') return source.dir;
    return await download(uri, source, client, deps);
  } catch (error) {
    if (error instanceof ModelError) throw error;
    throw new ModelError(`cannot fetch model ${uri} from ${client.http.trackingUri}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

async function download(uri: string, source: Extract<ModelSource, { kind: 'remote' }>, client: MlflowClient, deps: ResolveDeps): Promise<string> {
  const root = join(deps.cacheDir, 'mlflow-models');
  const hash = createHash('sha256').update(`${client.http.trackingUri}\n${source.artifactUri}\n${source.path.join('/')}`).digest('hex').slice(0, 16);
  const final = join(root, `${source.label.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 80)}-${hash}`);
  if ((await stat(final).catch(() => undefined))?.isDirectory() === true) {
    deps.logger.info({ uri, dir: final }, 'model already downloaded');
    return final;
  }
  const artifacts = new RunArtifacts(client.http, source.artifactUri);
  const prefix = source.path.join('/');
  const files = await artifacts.listFiles(prefix);
  if (files.length === 0) throw new ModelError(`model ${uri} has no files at ${source.artifactUri}${prefix === '' ? '' : `/${prefix}`}`);
  const temp = join(root, `.${basename(final)}.partial-${process.pid}-${randomBytes(4).toString('hex')}`);
  deps.logger.info({ uri, files: files.length, from: source.artifactUri, to: final }, 'downloading model');
  try {
    await mkdir(temp, { recursive: true });
    for (const file of files) {
      const target = targetPath(uri, temp, prefix, file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, await artifacts.download(file.path));
    }
    await rename(temp, final).catch(async (error: unknown) => {
      // another process finished the same download first: use theirs
      if ((await stat(final).catch(() => undefined))?.isDirectory() !== true) throw error;
      await rm(temp, { recursive: true, force: true });
    });
  } catch (error) {
    await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    throw error;
  }
  return final;
}

/** Where one listed artifact goes inside `dir`; refuses anything that would land outside it. */
export function targetPath(uri: string, dir: string, prefix: string, artifactPath: string): string {
  const refuse = (why: string): never => {
    throw new ModelError(`model ${uri}: the server listed the artifact ${JSON.stringify(artifactPath)}, which ${why}; refusing to write it`);
  };
  if (prefix !== '' && !artifactPath.startsWith(`${prefix}/`)) refuse(`is not inside "${prefix}"`);
  const rel = prefix === '' ? artifactPath : artifactPath.slice(prefix.length + 1);
  let segments: string[] = [];
  try {
    segments = artifactPathSegments(rel);
  } catch (error) {
    refuse(`is not a safe relative path (${error instanceof Error ? error.message : String(error)})`);
  }
  const base = resolve(dir);
  const target = resolve(base, ...segments);
  if (!target.startsWith(`${base}${sep}`)) refuse(`escapes the folder ${base}`);
  return target;
}
