/**
 * One MLflow run from the program's side: attach to the run `mlflow run` created (MLFLOW_RUN_ID) or
 * create one, watch the pipeline's events, and end the run with the truth. A tracking URI that is
 * not a server (MLflow's default local store) is served by a private `mlflow server` for the run.
 */
import { userInfo } from 'node:os';
import type { Logger } from '../log.js';
import { RunArtifacts } from '../mlflow/artifacts.js';
import { MlflowClient, type MetricPoint } from '../mlflow/client.js';
import { findMlflow } from '../mlflow/find-mlflow.js';
import type { Run, RunStatus } from '../mlflow/schemas.js';
import { resolveTrackingStore, startLocalServer, type LocalServer, type LocalServerOptions } from './local-server.js';
import { localArtifactRoot, LocalRunArtifacts, type ArtifactWriter } from './local-artifacts.js';
import { markTrainingExperiment } from './experiment-kind.js';
import { RunDataBuffer } from './run-data-buffer.js';
import { newParams } from './run-params.js';
import { runPageUrl } from './ui-links.js';

export type Env = Readonly<Record<string, string | undefined>>;
export type StartServer = (options: LocalServerOptions) => Promise<LocalServer>;

export interface TrackingDeps {
  readonly env: Env;
  readonly cwd: string;
  readonly fetch: typeof globalThis.fetch;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: Logger;
  /** Starts the private server of a local store (default: startLocalServer). */
  readonly startServer?: StartServer;
}

export interface OpenOptions {
  readonly runName?: string;
  /** Log into this existing run (a resumed run) instead of MLFLOW_RUN_ID's or a new one. */
  readonly runId?: string;
  /** A new run is created with this client token (tag transferkit.client_token; default: a random one). */
  readonly clientToken?: string;
  /** Continue the run created with `clientToken` when the experiment has one (a resumed checkpoint names its run so). */
  readonly reuseToken?: boolean;
  /** Parameters as given (strings); only keys the run lacks are logged. */
  readonly params: Readonly<Record<string, string>>;
}

export class TrackingSession {
  readonly buffer: RunDataBuffer;
  #params: Record<string, string>;

  private constructor(
    readonly client: MlflowClient,
    readonly runId: string,
    readonly artifactUri: string,
    readonly experimentId: string,
    readonly url: string,
    private readonly server: LocalServer | undefined,
    existingParams: Record<string, string>,
    private readonly deps: TrackingDeps,
    /** The run was found by its client token (OpenOptions.reuseToken), not created. */
    readonly foundByToken = false,
  ) {
    this.buffer = new RunDataBuffer(client, runId, deps.sleep);
    this.#params = existingParams;
  }

  get logger(): Logger {
    return this.deps.logger;
  }

  /** Where the run came from, for messages. */
  get attached(): boolean {
    return this.deps.env['MLFLOW_RUN_ID'] !== undefined && this.deps.env['MLFLOW_RUN_ID'] !== '';
  }

  static async open(deps: TrackingDeps, options: OpenOptions): Promise<TrackingSession> {
    const { env, logger } = deps;
    // the run starts now, not once a local store's server is up
    const startTime = deps.now();
    const store = resolveTrackingStore(env['MLFLOW_TRACKING_URI'], deps.cwd);
    let server: LocalServer | undefined;
    let url: string;
    if (store.kind === 'server') url = store.trackingUri;
    else {
      server = await (deps.startServer ?? startLocalServer)({
        storeUri: store.storeUri,
        artifactsDestination: store.artifactsDestination,
        defaultArtifactRoot: store.defaultArtifactRoot,
        mlflowBin: findMlflow({ env }),
        env: { ...env, MLFLOW_ALLOW_FILE_STORE: 'true' },
        logger,
        cwd: deps.cwd,
      });
      url = server.url;
      logger.info({ store: store.storeUri, url }, 'serving the local MLflow store for this run');
    }
    try {
      const client = new MlflowClient({ trackingUri: url, fetch: deps.fetch, env, sleep: deps.sleep, now: deps.now, ...clientTuning(env) });
      const { run, found } = await openRun(client, env, options, startTime);
      const info = run.info;
      if (info.status !== 'RUNNING') await client.updateRun({ runId: info.run_id, status: 'RUNNING' });
      await markTrainingExperiment(client, info.experiment_id).catch((error: unknown) =>
        logger.warn({ experiment_id: info.experiment_id, reason: error instanceof Error ? error.message : String(error) }, 'could not mark the experiment as model training (mlflow.experimentKind)'));
      const existing = Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value]));
      const session = new TrackingSession(client, info.run_id, info.artifact_uri ?? '', info.experiment_id, url, server, existing, deps, found);
      await session.logParams(options.params);
      const ui = server === undefined ? { ui: runPageUrl(url, info.experiment_id, info.run_id) } : {};
      logger.info({ run_id: info.run_id, experiment_id: info.experiment_id, tracking: url, ...ui }, 'tracking to MLflow');
      return session;
    } catch (error) {
      await server?.stop();
      throw error;
    }
  }

  /** Logs now (the server must answer) the parameters the run does not have yet. Never re-logs a key. */
  async logParams(params: Readonly<Record<string, string>>): Promise<void> {
    const fresh = newParams(params, this.#params);
    if (Object.keys(fresh).length === 0) return;
    await this.client.logBatch({ runId: this.runId, params: fresh });
    Object.assign(this.#params, fresh);
  }

  /** Queues parameters the run does not have yet and tags; sent in the background. */
  queue(data: { params?: Readonly<Record<string, string>>; tags?: Readonly<Record<string, string>> }): void {
    const params = newParams(data.params ?? {}, this.#params);
    Object.assign(this.#params, params);
    this.buffer.add({ params, ...(data.tags === undefined ? {} : { tags: data.tags }) });
  }

  /** Queues metric points (timestamps fixed now unless given), sent in the background. */
  logMetrics(values: Readonly<Record<string, number>>, step: number, timestamp = this.deps.now()): void {
    const metrics: MetricPoint[] = Object.entries(values).map(([key, value]) => ({ key, value, timestamp, step }));
    this.buffer.add({ metrics });
  }

  /**
   * The run's artifact store: through the tracking server (mlflow-artifacts:/), or, for a local
   * store served on this machine, the run's artifact folder.
   */
  artifacts(): ArtifactWriter {
    return this.artifactsAt(this.artifactUri);
  }

  /** The same for another artifact root of this server, e.g. a logged model's artifact location. */
  artifactsAt(artifactUri: string): ArtifactWriter {
    // A local artifact path names a folder on the tracking server's machine: ours only when the
    // server is this session's private one or listens on loopback (e.g. a sweep parent's server).
    const onThisMachine = this.server !== undefined || ['127.0.0.1', 'localhost', '[::1]'].includes(new URL(this.url).hostname);
    const local = onThisMachine ? localArtifactRoot(artifactUri) : undefined;
    if (local !== undefined) return new LocalRunArtifacts(local);
    return new RunArtifacts(
      this.client.http,
      artifactUri,
      this.server === undefined ? {} : { localArtifactsDestination: this.server.artifactsDestination },
    );
  }

  async end(status: RunStatus): Promise<void> {
    await this.client.updateRun({ runId: this.runId, status, endTime: this.deps.now() });
  }

  async close(): Promise<void> {
    await this.server?.stop();
  }
}

/** The user, as MLflow's Python client finds it: $USER, $LOGNAME, else the account's name. */
export function userName(env: Env): string {
  const given = [env['USER'], env['LOGNAME']].find((v) => v !== undefined && v !== '');
  if (given !== undefined) return given;
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** TRANSFERKIT_MLFLOW_RETRIES (7) and TRANSFERKIT_MLFLOW_TIMEOUT_SECONDS (120) per request. */
function clientTuning(env: Env): { retry?: { maxRetries: number }; timeoutMs?: number } {
  const whole = (text: string | undefined) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined);
  const retries = whole(env['TRANSFERKIT_MLFLOW_RETRIES']);
  const timeout = whole(env['TRANSFERKIT_MLFLOW_TIMEOUT_SECONDS']);
  return {
    ...(retries === undefined ? {} : { retry: { maxRetries: retries } }),
    ...(timeout === undefined ? {} : { timeoutMs: timeout * 1000 }),
  };
}

/** The run to log into: options.runId's or MLFLOW_RUN_ID's, else the one of options.clientToken (reuseToken), else a new one. */
async function openRun(client: MlflowClient, env: Env, options: OpenOptions, startTime: number): Promise<{ run: Run; found: boolean }> {
  const runId = options.runId ?? env['MLFLOW_RUN_ID'];
  if (runId !== undefined && runId !== '') return { run: await client.getRun(runId), found: false };
  const experimentId = await experimentFor(client, env);
  const token = options.clientToken;
  const found = token !== undefined && options.reuseToken === true ? await client.findRunByToken(experimentId, token) : undefined;
  if (found !== undefined) return { run: found, found: true };
  const run = await client.createRun({
    experimentId,
    startTime,
    ...(options.runName === undefined ? {} : { runName: options.runName }),
    ...(token === undefined ? {} : { clientToken: token }),
    tags: { 'mlflow.source.name': 'transferkit', 'mlflow.source.type': 'LOCAL', 'mlflow.user': userName(env) },
  });
  return { run, found: false };
}

async function experimentFor(client: MlflowClient, env: Env): Promise<string> {
  const id = env['MLFLOW_EXPERIMENT_ID'];
  if (id !== undefined && id !== '') return id;
  const name = env['MLFLOW_EXPERIMENT_NAME'];
  if (name !== undefined && name !== '') return (await client.getOrCreateExperiment(name)).experiment_id;
  return '0';
}
