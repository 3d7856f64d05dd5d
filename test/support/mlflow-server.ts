/**
 * A real `mlflow server` for integration tests: sqlite backend and artifacts in a fresh temp dir,
 * on a free loopback port. Fails (never skips) when mlflow is missing.
 *
 *   const server = await startTestServer();
 *   try { const client = new MlflowClient({ trackingUri: server.url }); ... } finally { await server.stop(); }
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { startLocalServer, type LocalServer } from '../../src/tracking/local-server.js';

export interface TestServer {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The temp dir holding db.sqlite and art/ (removed by stop() unless keepDir). */
  readonly dir: string;
  readonly artifactsDir: string;
  readonly server: LocalServer;
  /** Stops the server (whole process group) and removes the temp dir. */
  stop(): Promise<void>;
}

export async function startTestServer(options: { dir?: string; keepDir?: boolean } = {}): Promise<TestServer> {
  const mlflowBin = findMlflow({ env: process.env });
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'transferkit-mlflow-')));
  const artifactsDir = join(dir, 'art');
  const removeDir = async (): Promise<void> => {
    if (options.keepDir !== true && options.dir === undefined) await rm(dir, { recursive: true, force: true });
  };
  let server: LocalServer;
  try {
    server = await startLocalServer({
      storeUri: `sqlite:///${join(dir, 'db.sqlite')}`,
      artifactsDestination: artifactsDir,
      mlflowBin,
      env: process.env,
      cwd: dir,
      startTimeoutMs: 60_000,
    });
  } catch (error) {
    await removeDir();
    throw error;
  }
  return {
    url: server.url,
    dir,
    artifactsDir,
    server,
    stop: async () => {
      await server.stop();
      await removeDir();
    },
  };
}

/**
 * A real `mlflow server` over MLflow's default store of `cwd` (`cwd/mlflow.db`, artifacts in
 * `cwd/mlruns`), as `mlflow ui` there would open it: it fails to start when the store's schema is not whole.
 */
export function viewDefaultStore(cwd: string): Promise<LocalServer> {
  return startLocalServer({ storeUri: `sqlite:///${join(cwd, 'mlflow.db')}`, artifactsDestination: join(cwd, 'mlruns'), mlflowBin: findMlflow({ env: process.env }), env: process.env, cwd });
}
