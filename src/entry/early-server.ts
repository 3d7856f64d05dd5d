/**
 * The private `mlflow server` of a local store, started by `transferkit train` before its heavy
 * modules load: importing TensorFlow and the pipeline takes seconds, and so does the server's
 * start-up, so the two overlap. Only for a command line that parses (a bad argument ends the command
 * before any run is opened, so no server is started for it). The tracking session claims it through
 * EntryDeps.startServer (when it asks for a server over the same store); a server nobody claimed is
 * stopped by release(). A failed start is the claimer's error, as if it had started the server itself.
 *
 * On a new store MLflow creates and migrates its tables while it starts; a kill then (SIGKILL, or
 * SIGTERM, which Python does not handle) leaves the store at a half-applied revision that no MLflow
 * can open again. So release() lets a start under way finish (bounded by its start timeout) and then
 * stops the server with SIGTERM; only killNow() (a second signal, a process about to exit) kills.
 */
import { findMlflow } from '../mlflow/find-mlflow.js';
import { takeOutputOptions } from '../output/options.js';
import { resolveTrackingStore, startLocalServer, type LocalServer, type LocalServerOptions, type LoggerLike } from '../tracking/local-server.js';
import { parseFlags } from './args.js';
import { trackingEnabled } from './tracking-enabled.js';

export interface EarlyServer {
  /** For EntryDeps.startServer: the early server for the options it was started with, else a new one. */
  readonly starter: (options: LocalServerOptions) => Promise<LocalServer>;
  /**
   * Stops the early server unless it was claimed (its session stops it then): a start under way is
   * let finish (the store's set-up must not be cut), then the server gets SIGTERM (SIGKILL after a grace period).
   */
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

/** Whether `train`'s arguments parse as far as they must before a run is opened (main.ts and train.ts say what is wrong). */
function argumentsParse(args: readonly string[], env: Readonly<Record<string, string | undefined>>): boolean {
  try {
    parseFlags(takeOutputOptions(args, env).rest);
    return true;
  } catch {
    return false;
  }
}

/** Starts the server when `argv` is a tracked `train` over a local store whose arguments parse; undefined otherwise. */
export function startServerEarly(argv: readonly string[], env: Readonly<Record<string, string | undefined>>, cwd: string, start = startLocalServer): EarlyServer | undefined {
  const [command, ...args] = argv;
  if (command !== 'train' || args.includes('--help') || args.includes('-h') || !trackingEnabled(env) || !argumentsParse(args, env)) return undefined;
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
      // not aborted: that would kill the server while it may be setting up a new store
      await started.then((server) => server.stop(), () => undefined);
    },
    killNow: () => controller.abort(),
  };
}

const EXIT_CODES = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;

export interface InterimSignals {
  /** What main calls when it takes SIGINT/SIGTERM/SIGHUP over: removes these handlers. */
  readonly take: () => void;
  /** Once a signal came: settles after the process was told to exit (the server stopped first). */
  readonly stopping: () => Promise<void> | undefined;
}

/**
 * Until main.ts has its own handlers, a signal would end Node without its 'exit' hooks and leave the
 * early server (its own process group) running. The first SIGINT/SIGTERM/SIGHUP stops that server
 * as release() does (a start under way finishes first) and exits 128+n; a second one kills its group
 * at once and exits. cli.ts does not run the command once a signal came.
 */
/** The part of `process` the interim handlers use. */
export interface SignalTarget {
  on(signal: string, handler: () => void): unknown;
  removeListener(signal: string, handler: () => void): unknown;
  exit(code: number): void;
  readonly stderr: { write(text: string): unknown };
}

export function exitOnSignals(early: EarlyServer, target: SignalTarget = process): InterimSignals {
  let stopping: Promise<void> | undefined;
  const handlers = Object.entries(EXIT_CODES).map(([signal, code]) => {
    const handler = (): void => {
      if (stopping !== undefined) {
        early.killNow();
        target.exit(code);
        return;
      }
      target.stderr.write(`transferkit: ${signal}: stopping the private mlflow server once it has set up its store; ${signal} again kills it at once\n`);
      stopping = early.release().finally(() => void target.exit(code));
    };
    target.on(signal, handler);
    return { signal, handler };
  });
  return {
    take: () => {
      for (const { signal, handler } of handlers) target.removeListener(signal, handler);
    },
    stopping: () => stopping,
  };
}
