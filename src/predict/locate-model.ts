/**
 * Where the files of a model URI are, asked of the tracking server as MLflow 3.17 resolves them:
 * a run's `<path>` artifacts, or else the run's logged model named `<path>`; a registered version's
 * download URI (its storage location or source, which may itself be `models:/<model_id>` or
 * `runs:/…`); an alias's version; a logged model's artifact location. An unknown run, model,
 * version or alias is a ModelError naming the URI and what the server has instead.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import { RunArtifacts, artifactPathSegments } from '../mlflow/artifacts.js';
import type { MlflowClient } from '../mlflow/client.js';
import { MlflowApiError } from '../mlflow/errors.js';
import type { LoggedModel } from '../mlflow/model-schemas.js';
import type { MlflowModels } from '../mlflow/models.js';
import type { Run } from '../mlflow/schemas.js';
import { localArtifactRoot } from '../tracking/local-artifacts.js';

export type ModelSource =
  | { readonly kind: 'local'; readonly dir: string }
  /** Files below `artifactUri` (an `mlflow-artifacts:/` root) + `path`; `label` names the cache folder. */
  | { readonly kind: 'remote'; readonly artifactUri: string; readonly path: readonly string[]; readonly label: string };

export type ParsedModelUri =
  | { readonly kind: 'local'; readonly path: string }
  | { readonly kind: 'run'; readonly runId: string; readonly path: readonly string[] }
  | { readonly kind: 'version'; readonly name: string; readonly version: string }
  | { readonly kind: 'alias'; readonly name: string; readonly alias: string }
  | { readonly kind: 'logged'; readonly modelId: string };

const FORMS = 'a folder, runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>/latest, models:/<name>@<alias> or models:/<model_id>';

export function parseModelUri(uri: string): ParsedModelUri {
  const bad = (why: string): never => {
    throw new ModelError(`model URI ${JSON.stringify(uri)} ${why}; expected ${FORMS}`);
  };
  if (/^file:/i.test(uri)) return { kind: 'local', path: fileURLToPath(uri) };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined || /^[A-Za-z]:[\\/]/.test(uri)) return { kind: 'local', path: uri };
  const rest = uri.slice(scheme.length + 1).replace(/^\/+/, '');
  if (scheme === 'runs') {
    const [runId = '', ...path] = rest.split('/');
    if (!/^[A-Za-z0-9_-]+$/.test(runId)) bad('has no run id');
    const segments = (() => {
      try {
        return artifactPathSegments(path.join('/'), { allowEmpty: true });
      } catch (error) {
        return bad(`has an artifact path MLflow cannot hold (${error instanceof Error ? error.message : String(error)})`);
      }
    })();
    return { kind: 'run', runId, path: segments };
  }
  if (scheme !== 'models') return bad(`has the scheme "${scheme}:"`);
  const at = /^([^/@]+)@([^/@]+)$/.exec(rest);
  if (at?.[1] !== undefined && at[2] !== undefined) return { kind: 'alias', name: at[1], alias: at[2] };
  if (/^m-[0-9a-f]+$/.test(rest)) return { kind: 'logged', modelId: rest };
  const version = /^([^/]+)\/(\d+|latest)$/.exec(rest);
  if (version?.[1] !== undefined && version[2] !== undefined) return { kind: 'version', name: version[1], version: version[2] };
  return bad('names no version or alias');
}

type Remote = Exclude<ParsedModelUri, { kind: 'local' }>;

const notFound = (error: unknown) =>
  error instanceof MlflowApiError && (error.errorCode === 'RESOURCE_DOES_NOT_EXIST' || error.errorCode === 'INVALID_PARAMETER_VALUE');

export async function locateModel(uri: string, parsed: Remote, client: MlflowClient, models: MlflowModels, depth = 0): Promise<ModelSource> {
  const server = client.http.trackingUri;
  if (parsed.kind === 'run') {
    const run = await client.getRun(parsed.runId).catch((error: unknown) => {
      if (notFound(error)) throw new ModelError(`model ${uri}: the tracking server at ${server} has no run "${parsed.runId}"; expected the id of a run that logged a model`, { cause: error });
      throw error;
    });
    return runSource(uri, run, parsed.path, client, models);
  }
  if (parsed.kind === 'logged') return sourceAt(uri, (await loggedModel(uri, parsed.modelId, models, server)).info.artifact_uri, parsed.modelId, client, models, depth);
  const { name } = parsed;
  let version: string | undefined;
  if (parsed.kind === 'alias') version = (await models.getModelVersionByAlias(name, parsed.alias))?.version;
  else if (parsed.version === 'latest') version = (await models.listVersions(name, 1000)).at(-1);
  else version = (await models.getModelVersion(name, parsed.version))?.version;
  if (version === undefined) throw await registryMiss(uri, parsed, models, server);
  const download = await models.getModelVersionDownloadUri(name, version);
  return sourceAt(uri, download, `${name}-v${version}`, client, models, depth);
}

async function runSource(uri: string, run: Run, path: readonly string[], client: MlflowClient, models: MlflowModels): Promise<ModelSource> {
  const prefix = path.join('/');
  const local = localArtifactRoot(run.info.artifact_uri);
  if (local !== undefined) {
    const dir = join(local, ...path);
    if (existsSync(join(dir, 'MLmodel')) || (prefix !== '' && existsSync(dir))) return { kind: 'local', dir };
  } else if ((await new RunArtifacts(client.http, run.info.artifact_uri).list(prefix)).length > 0) {
    return { kind: 'remote', artifactUri: run.info.artifact_uri, path, label: `run-${run.info.run_id}-${prefix}` };
  }
  // MLflow 3: runs:/<id>/<name> also means the run's logged model called <name>, the latest step first
  const outputs = [...run.outputs.model_outputs].sort((a, b) => b.step - a.step);
  const logged: LoggedModel[] = [];
  for (const output of outputs) logged.push(await models.getLoggedModel(output.model_id));
  const match = logged.find((m) => m.info.name === prefix);
  if (match !== undefined) return sourceAt(uri, match.info.artifact_uri, match.info.model_id, client, models, 0);
  const has = local === undefined ? (await new RunArtifacts(client.http, run.info.artifact_uri).list()).map((e) => (e.isDir ? `${e.path}/` : e.path)) : [];
  throw new ModelError(
    `model ${uri}: run ${run.info.run_id} has no artifacts at "${prefix}" and no logged model of that name; ` +
      `its artifacts: ${has.join(', ') || (local === undefined ? 'none' : `(in ${local})`)}; its logged models: ${logged.map((m) => `${m.info.name} (${m.info.model_id})`).join(', ') || 'none'}`,
  );
}

/** The files a source URI names: a logged model, a run's artifacts, another version, or a root. */
async function sourceAt(uri: string, source: string, label: string, client: MlflowClient, models: MlflowModels, depth: number): Promise<ModelSource> {
  if (/^(runs|models):/i.test(source)) {
    if (depth >= 3) throw new ModelError(`model ${uri}: its source ${source} points at further model URIs more than 3 times`);
    const next = parseModelUri(source);
    if (next.kind === 'local') throw new ModelError(`model ${uri}: cannot follow its source ${source}`);
    return locateModel(uri, next, client, models, depth + 1);
  }
  const local = localArtifactRoot(source);
  if (local !== undefined) {
    if (existsSync(local)) return { kind: 'local', dir: local };
    throw new ModelError(`model ${uri} is stored in ${local} on the tracking server's machine, which does not exist here; use a server started with --serve-artifacts`);
  }
  if (!/^mlflow-artifacts:/i.test(source)) {
    throw new ModelError(`model ${uri} is stored at ${source}; transferkit downloads only through the tracking server (mlflow-artifacts:/ locations, mlflow server --serve-artifacts)`);
  }
  return { kind: 'remote', artifactUri: source, path: [], label };
}

async function loggedModel(uri: string, modelId: string, models: MlflowModels, server: string): Promise<LoggedModel> {
  return models.getLoggedModel(modelId).catch((error: unknown) => {
    if (notFound(error)) throw new ModelError(`model ${uri}: the tracking server at ${server} has no logged model "${modelId}"`, { cause: error });
    throw error;
  });
}

/** What the registry has instead: other model names, or this model's versions and aliases. */
async function registryMiss(uri: string, parsed: Extract<Remote, { name: string }>, models: MlflowModels, server: string): Promise<ModelError> {
  const registered = await models.getRegisteredModel(parsed.name);
  if (registered === undefined) {
    const names = await models.listRegisteredModels();
    return new ModelError(`model ${uri}: the Model Registry at ${server} has no model named "${parsed.name}"; registered models: ${names.map((n) => `"${n}"`).join(', ') || 'none'}`);
  }
  const versions = await models.listVersions(parsed.name);
  const aliases = registered.aliases.map((a) => `@${a.alias} → ${a.version}`);
  const what = parsed.kind === 'alias' ? `alias "${parsed.alias}"` : parsed.version === 'latest' ? 'versions' : `version ${parsed.version}`;
  return new ModelError(
    `model ${uri}: registered model "${parsed.name}" has no ${what}; its versions: ${versions.join(', ') || 'none'}; its aliases: ${aliases.join(', ') || 'none'}`,
  );
}
