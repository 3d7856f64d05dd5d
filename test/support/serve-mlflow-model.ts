/**
 * `mlflow models serve -m <uri> --env-manager local` from the venv, on a free loopback port, for
 * the tests. The venv's bin goes first on PATH: the local env manager runs `uvicorn` from PATH.
 * The server runs in its own process group, which stop() ends.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { findFreePort } from '../../src/tracking/local-server.js';
import { venvPython } from './python.js';

export interface ServedModel {
  readonly url: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function serveModel(uri: string, env: Readonly<Record<string, string>>): Promise<ServedModel> {
  const bin = dirname(venvPython());
  const port = await findFreePort();
  const child = spawn(join(bin, 'mlflow'), ['models', 'serve', '-m', uri, '--env-manager', 'local', '-p', String(port), '-h', '127.0.0.1'], {
    env: { ...process.env, ...env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, TF_CPP_MIN_LOG_LEVEL: '3' },
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4000)));
  let exited: number | null | undefined;
  const done = new Promise<void>((resolve) => child.on('exit', (code) => ((exited = code), resolve())));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited !== undefined || child.pid === undefined) return;
    process.kill(-child.pid, 'SIGTERM');
    const killed = await Promise.race([done.then(() => true), sleep(15_000).then(() => false)]);
    if (!killed && exited === undefined) process.kill(-child.pid, 'SIGKILL');
    await done;
  };
  // startup loads TensorFlow and downloads the model: poll /ping (bounded, no timing asserted)
  for (let attempt = 0; attempt < 600; attempt++) {
    if (exited !== undefined) throw new Error(`mlflow models serve exited with ${String(exited)}:\n${stderr}`);
    const ok = await fetch(`${url}/ping`).then((r) => r.ok, () => false);
    if (ok) return { url, stop };
    await sleep(250);
  }
  await stop();
  throw new Error(`mlflow models serve did not answer /ping:\n${stderr}`);
}
