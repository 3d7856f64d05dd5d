/**
 * An `mlflow server` on loopback over a local store, for as long as a run lasts. MLflow's default
 * tracking URI is a local store (sqlite file or ./mlruns), which a REST client cannot write to;
 * serving that same store makes runs, metrics and artifacts land where MLflow itself puts them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { Socket, createServer } from 'node:net';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { describeValue } from '../errors.js';
import { LocalServerError } from '../mlflow/errors.js';
import { serverCommand } from './server-command.js';

type Env = Readonly<Record<string, string | undefined>>;

export interface LoggerLike {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export type TrackingStore =
  | { readonly kind: 'server'; readonly trackingUri: string }
  | {
      readonly kind: 'local';
      /** What to pass as `mlflow server --backend-store-uri`. */
      readonly storeUri: string;
      /** Where MLflow itself writes this store's artifacts; the server's --artifacts-destination. */
      readonly artifactsDestination: string;
      /** --default-artifact-root, so new experiments get the same artifact location MLflow would give them. */
      readonly defaultArtifactRoot: string;
      readonly fileStore: boolean;
    };

const DB_SCHEMES = /^(sqlite|postgresql|mysql|mssql)(\+[a-z0-9_]+)?:/i;

/**
 * Maps a tracking URI (MLFLOW_TRACKING_URI, possibly unset) to a server URL or a local store.
 * Unset/empty is MLflow 3's default: `./mlruns` when it holds experiments, else `sqlite:///mlflow.db`,
 * both relative to `cwd`. Artifacts of a file store live in the store itself; those of a database
 * store in `<cwd>/mlruns` (MLflow's default artifact root), as `mlflow run` writes them.
 */
export function resolveTrackingStore(uri: string | undefined, cwd: string): TrackingStore {
  const value = (uri ?? '').trim();
  if (/^https?:\/\//i.test(value)) return { kind: 'server', trackingUri: value };
  if (value === '') {
    const mlruns = join(cwd, 'mlruns');
    return hasFileStoreData(mlruns) ? fileStore(mlruns, true) : databaseStore(`sqlite:///${join(cwd, 'mlflow.db')}`, cwd);
  }
  if (/^file:/i.test(value)) {
    const path = value.startsWith('file://') ? fileURLToPath(value) : resolve(cwd, decodeURIComponent(value.slice('file:'.length)));
    return fileStore(path, true);
  }
  const sqlite = /^sqlite:\/\/\/(.*)$/i.exec(value);
  if (sqlite !== null) {
    const path = sqlite[1] ?? '';
    if (path === '' || path === ':memory:') {
      throw new LocalServerError(`tracking URI ${describeValue(value)} is an in-memory database; give a sqlite file path`);
    }
    return databaseStore(`sqlite:///${isAbsolute(path) ? path : resolve(cwd, path)}`, cwd);
  }
  if (DB_SCHEMES.test(value)) return databaseStore(value, cwd);
  if (/^[a-z][a-z0-9+.-]*:/i.test(value) || value === 'databricks') {
    throw new LocalServerError(
      `tracking URI ${describeValue(value)} is not supported: expected http(s)://, file:, a path, or a database URI (sqlite:///...)`,
    );
  }
  return fileStore(resolve(cwd, value), false);
}

function fileStore(root: string, asUri: boolean): TrackingStore {
  const uri = pathToFileURL(root).href;
  return { kind: 'local', storeUri: uri, artifactsDestination: root, defaultArtifactRoot: asUri ? uri : root, fileStore: true };
}

function databaseStore(storeUri: string, cwd: string): TrackingStore {
  const artifacts = join(cwd, 'mlruns');
  return { kind: 'local', storeUri, artifactsDestination: artifacts, defaultArtifactRoot: artifacts, fileStore: false };
}

/** MLflow's own test (`_has_existing_mlruns_data`): a numeric directory with a meta.yaml. */
function hasFileStoreData(dir: string): boolean {
  try {
    return readdirSync(dir, { withFileTypes: true }).some(
      (e) => e.isDirectory() && /^\d+$/.test(e.name) && existsSync(join(dir, e.name, 'meta.yaml')),
    );
  } catch {
    return false;
  }
}

/** A port that was free a moment ago on `host` (bind port 0, read it, release it). */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolvePort(port) : reject(new Error(`no port from ${String(address)}`))));
    });
  });
}

export interface LocalServerOptions {
  readonly storeUri: string;
  readonly artifactsDestination: string;
  readonly defaultArtifactRoot?: string;
  readonly mlflowBin: string;
  /** The server's whole environment (default: process.env). */
  readonly env?: Env;
  readonly logger?: LoggerLike;
  /** Until /health must answer OK (default 60 s). */
  readonly startTimeoutMs?: number;
  readonly cwd?: string;
  /**
   * Aborting it kills the server's process group at once (SIGKILL), whether it is starting (the start
   * then fails with ERR_MLFLOW_SERVER_ABORTED) or up, until stop().
   */
  readonly signal?: AbortSignal;
}

export interface LocalServer {
  readonly url: string;
  readonly pid: number;
  readonly artifactsDestination: string;
  /** The last lines the server wrote to stdout/stderr. */
  output(): string;
  /** SIGTERM to the server's process group, SIGKILL after a grace period. Idempotent. */
  stop(): Promise<void>;
}


const PORT_IN_USE = /address already in use|errno 98|eaddrinuse/i;
const TAIL_LINES = 40;

/**
 * Starts `mlflow server` on a free loopback port in its own process group and waits for
 * `GET /health` → OK. Fails with the server's last output lines if it exits or times out.
 */
export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const env = options.env ?? process.env;
  if (options.storeUri.startsWith('file:') && !/^(true|1)$/i.test(env.MLFLOW_ALLOW_FILE_STORE ?? '')) {
    throw new LocalServerError(
      `the tracking store ${options.storeUri} is an MLflow file store, which MLflow 3 refuses unless ` +
        'MLFLOW_ALLOW_FILE_STORE=true; set that, or use a database store (e.g. MLFLOW_TRACKING_URI=sqlite:///mlflow.db)',
    );
  }
  for (let attempt = 1; ; attempt++) {
    try {
      const port = await findFreePort();
      if (options.signal?.aborted === true) throw aborted(options.storeUri);
      return await startOnce(options, env, port);
    } catch (error) {
      const portTaken = error instanceof LocalServerError && PORT_IN_USE.test(error.message);
      if (!portTaken || attempt >= 3) throw error;
      options.logger?.warn({ attempt }, 'mlflow server lost its port to another process; retrying on a new port');
    }
  }
}

async function startOnce(options: LocalServerOptions, env: Env, port: number): Promise<LocalServer> {
  const url = `http://127.0.0.1:${port}`;
  const args = ['--backend-store-uri', options.storeUri, '--artifacts-destination', options.artifactsDestination,
    '--serve-artifacts', '--host', '127.0.0.1', '--port', String(port), '--workers', '1'];
  if (options.defaultArtifactRoot !== undefined) args.push('--default-artifact-root', options.defaultArtifactRoot);
  const serverEnv: Record<string, string | undefined> = {
    ...env,
    PYTHONUNBUFFERED: '1',
    // The job runner (GenAI scorers) is not needed and adds a tree of huey processes.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION: 'false',
    MLFLOW_STATIC_PREFIX: undefined,
    MLFLOW_UVICORN_OPTS: undefined,
    MLFLOW_GUNICORN_OPTS: undefined,
  };
  const started = Date.now();
  const command = serverCommand(options.mlflowBin, args, env);
  options.logger?.debug({ file: command.file, args: command.args, kind: command.kind }, 'starting mlflow server');
  if (command.fallback !== undefined) {
    options.logger?.info({ reason: command.fallback }, 'running `mlflow server` (two Python processes, a slower start): the one-process launcher cannot be used; TRANSFERKIT_MLFLOW_SERVER=cli says this is wanted');
  }
  const child = execa(command.file, command.args, {
    env: serverEnv, extendEnv: false, cwd: options.cwd ?? process.cwd(),
    detached: true, cleanup: false, buffer: false, reject: false, stdin: 'ignore',
  });
  const tail: string[] = [];
  const collect = (chunk: Buffer | string): void => {
    for (const line of String(chunk).split('\n')) if (line.trim() !== '') tail.push(line);
    tail.splice(0, Math.max(0, tail.length - TAIL_LINES));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // A forgotten server must not keep Node alive; the 'exit' hook below kills it then.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) if (stream instanceof Socket) stream.unref();
  let exitInfo: string | undefined;
  const exited = child.then((result) => {
    exitInfo = result.signal === undefined ? `exit code ${String(result.exitCode)}` : `signal ${result.signal}`;
    if (result.failed && result.exitCode === undefined && result.signal === undefined) exitInfo = result.shortMessage;
  });
  const pid = child.pid;
  if (pid === undefined) {
    await exited;
    throw new LocalServerError(`cannot start ${command.file}: ${exitInfo ?? 'no process id'}`);
  }
  const killGroup = (): void => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', killGroup);
  options.signal?.addEventListener('abort', killGroup, { once: true });
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= stopGroup(pid, exited).finally(() => {
      process.removeListener('exit', killGroup);
      options.signal?.removeEventListener('abort', killGroup);
    });
    return stopping;
  };
  const output = (): string => tail.join('\n');
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const healthy = await waitForHealth(url, timeoutMs, exited, options.signal);
  if (options.signal?.aborted === true) {
    await stop();
    throw aborted(options.storeUri);
  }
  if (healthy !== 'ok') {
    await stop();
    const why = healthy === 'exited' ? `exited (${exitInfo ?? 'unknown status'})` : `did not answer ${url}/health with OK within ${timeoutMs / 1000} s`;
    throw new LocalServerError(
      `mlflow server over ${options.storeUri} ${why}. Command: ${command.file} ${command.args.join(' ')}\nLast output:\n${output() || '(none)'}`,
    );
  }
  options.logger?.info({ url, store: options.storeUri, ms: Date.now() - started, kind: command.kind }, 'mlflow server is up');
  return { url, pid, artifactsDestination: options.artifactsDestination, output, stop };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const aborted = (storeUri: string): LocalServerError =>
  new LocalServerError(`the start of the mlflow server over ${storeUri} was cancelled`, { code: 'ERR_MLFLOW_SERVER_ABORTED' });

/** Polls /health until OK, the server's exit, the deadline or `signal` (whose abort kills the server, so `exited` follows). */
async function waitForHealth(url: string, timeoutMs: number, exited: Promise<void>, signal?: AbortSignal): Promise<'ok' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (let delay = 100; Date.now() < deadline && !gone; delay = Math.min(1000, delay * 1.5)) {
    try {
      const timeout = AbortSignal.timeout(2000);
      const res = await fetch(`${url}/health`, { signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]), redirect: 'error' });
      if (res.ok && (await res.text()).trim() === 'OK') return gone ? 'exited' : 'ok';
    } catch {
      // not listening yet
    }
    await Promise.race([sleep(Math.min(delay, Math.max(0, deadline - Date.now()))), exited]);
  }
  return gone ? 'exited' : 'timeout';
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    return error instanceof Error && 'code' in error && error.code === 'EPERM';
  }
}

/** SIGTERM the whole group (uvicorn and any children), wait, then SIGKILL what is left. */
async function stopGroup(pgid: number, exited: Promise<void>, graceMs = 10_000): Promise<void> {
  const signal = (sig: NodeJS.Signals): void => {
    try {
      process.kill(-pgid, sig);
    } catch {
      // group already empty
    }
  };
  const waitEmpty = async (ms: number): Promise<boolean> => {
    const until = Date.now() + ms;
    while (groupAlive(pgid) && Date.now() < until) await sleep(50);
    return !groupAlive(pgid);
  };
  signal('SIGTERM');
  if (!(await waitEmpty(graceMs))) {
    signal('SIGKILL');
    await waitEmpty(5000);
  }
  // the child's own end (its streams closed), for at most 5 s; the timer must not outlive the wait,
  // or it alone keeps the process alive for those seconds after the run has ended
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([exited, new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
  clearTimeout(timer);
}
