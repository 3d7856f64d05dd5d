/**
 * The private `mlflow server` of a local store, started by `transferkit train` before its heavy
 * modules load: importing TensorFlow and the pipeline takes seconds, and so does the server's
 * start-up, so the two overlap. The tracking session claims it through EntryDeps.startServer (when
 * it asks for a server over the same store); a server nobody claimed is stopped by release(). A
 * failed start is the claimer's error, as if it had started the server itself.
 */
import { findMlflow } from '../mlflow/find-mlflow.js';
import { resolveTrackingStore, startLocalServer, type LocalServer, type LocalServerOptions, type LoggerLike } from '../tracking/local-server.js';
import { trackingEnabled } from './tracking-enabled.js';

export interface EarlyServer {
  /** For EntryDeps.startServer: the early server for the options it was started with, else a new one. */
  readonly starter: (options: LocalServerOptions) => Promise<LocalServer>;
  /** Stops the early server unless it was claimed (its session stops it then): a start under way is cancelled. */
  release(): Promise<void>;
  /** Kills the server's process group at once (SIGKILL), claimed or not: for a process about to exit. */
  killNow(): void;
}

/** Log calls held until the claimer's logger is known, then passed on. */
class HeldLogger implements LoggerLike {
  #target: LoggerLike | undefined;
  readonly #held: Array<(l: LoggerLike) => void> = [];
  #call(f: (l: LoggerLike) => void): void {
    if (this.#target === undefined) this.#held.push(f);
    else f(this.#target);
  }
  debug(obj: object, msg?: string): void {
    this.#call((l) => l.debug(obj, msg));
  }
  info(obj: object, msg?: string): void {
    this.#call((l) => l.info(obj, msg));
  }
  warn(obj: object, msg?: string): void {
    this.#call((l) => l.warn(obj, msg));
  }
  passTo(target: LoggerLike | undefined): void {
    this.#target = target ?? { debug: () => undefined, info: () => undefined, warn: () => undefined };
    for (const f of this.#held.splice(0)) f(this.#target);
  }
}

const sameServer = (a: LocalServerOptions, b: LocalServerOptions): boolean =>
  a.storeUri === b.storeUri && a.artifactsDestination === b.artifactsDestination && a.defaultArtifactRoot === b.defaultArtifactRoot &&
  a.mlflowBin === b.mlflowBin && a.cwd === b.cwd;

/** Starts the server when `argv` is a tracked `train` over a local store; undefined otherwise. */
export function startServerEarly(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string, start = startLocalServer): EarlyServer | undefined {
  const [command, ...args] = argv;
  if (command !== 'train' || args.includes('--help') || args.includes('-h') || !trackingEnabled(env)) return undefined;
  let options: LocalServerOptions;
  try {
    const store = resolveTrackingStore(env['MLFLOW_TRACKING_URI'], cwd);
    if (store.kind !== 'local') return undefined;
    options = {
      storeUri: store.storeUri, artifactsDestination: store.artifactsDestination, defaultArtifactRoot: store.defaultArtifactRoot,
      mlflowBin: findMlflow({ env }), env: { ...env, MLFLOW_ALLOW_FILE_STORE: 'true' }, cwd,
    };
  } catch {
    return undefined; // the session meets the same problem and reports it
  }
  const logger = new HeldLogger();
  const controller = new AbortController();
  const started = start({ ...options, logger, signal: controller.signal });
  started.catch(() => undefined); // the claimer gets the error; unclaimed, it does not matter
  let claimed = false;
  return {
    starter: (wanted) => {
      if (claimed || !sameServer(options, wanted)) return start(wanted);
      claimed = true;
      logger.passTo(wanted.logger);
      return started;
    },
    release: async () => {
      if (claimed) return;
      claimed = true;
      logger.passTo(undefined);
      controller.abort();
      await started.then((server) => server.stop(), () => undefined);
    },
    killNow: () => controller.abort(),
  };
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

/**
 * Until main.ts has its own handlers, a signal would end Node without its 'exit' hooks and leave the
 * early server (its own process group) running: SIGINT/SIGTERM/SIGHUP kill that group at once and
 * exit 128+n. Returns what main calls when it takes SIGINT/SIGTERM over; SIGHUP, which main does not
 * handle, keeps this handler.
 */
export function exitOnSignals(early: EarlyServer, target: NodeJS.Process = process): () => void {
  const handlers = Object.entries(EXIT_CODES).map(([signal, code]) => {
    const handler = (): void => {
      early.killNow();
      target.exit(code);
    };
    target.on(signal, handler);
    return { signal, handler };
  });
  return () => {
    for (const { signal, handler } of handlers) if (signal !== 'SIGHUP') target.removeListener(signal, handler);
  };
}
