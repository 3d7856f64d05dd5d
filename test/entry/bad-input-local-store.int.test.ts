/**
 * Bad input to `train` over MLflow's default local store (a private `mlflow server` serves it for the
 * run). The run must end FAILED with its error note while that server still runs: the server is
 * stopped by the command's `finally`, so a starter that wraps the real one records when stop() is
 * called, and the injected fetch when MLflow took the run's status. No clock is involved: the order is
 * checked.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { trainCommand } from '../../src/entry/train.js';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../src/tracking/local-server.js';
import { tempDir } from '../support/cli.js';
import { clientFor, onlyRun, tagsOf } from '../support/mlflow-checks.js';
import { viewDefaultStore } from '../support/mlflow-server.js';

describe('bad input to train over a local store', { timeout: 300_000 }, () => {
  let home = '';
  const viewers: LocalServer[] = [];
  before(async () => {
    home = await tempDir('bad-input-local');
  });
  after(async () => {
    for (const viewer of viewers) await viewer.stop();
    await rm(home, { recursive: true, force: true });
  });

  it('ends the run FAILED with its note before the private server is stopped', async () => {
    const dir = join(home, 'failed-before-stop');
    // what reached MLflow and when the server was told to stop, in order
    const events: string[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const res = await globalThis.fetch(input, init);
      const status = /"status":\s*"([A-Z]+)"/.exec(typeof init?.body === 'string' ? init.body : '')?.[1];
      if (String(input).endsWith('/runs/update') && res.ok) events.push(`runs/update ${status ?? '?'}`);
      return res;
    };
    const stopRecorded = async (options: LocalServerOptions): Promise<LocalServer> => {
      const server = await startLocalServer(options);
      return { ...server, stop: () => (events.push('stop'), server.stop()) };
    };
    let out = '';
    const write = { write: (text: string) => (out += text) };
    await mkdir(dir);
    const code = await trainCommand(['--samples_per_class', 'abc'], {
      // no MLFLOW_TRACKING_URI: MLflow's default store, ./mlflow.db in cwd
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], MLFLOW_EXPERIMENT_NAME: 'bad-input' },
      cwd: dir, fetch, now: () => Date.now(), stdout: write, stderr: write, logger: pino({ level: 'silent' }), startServer: stopRecorded,
    });
    assert.equal(code, 2, out);
    assert.match(out, /Parameter "samples_per_class" must be a whole number/);
    assert.deepEqual(events.filter((e) => e !== 'runs/update RUNNING'), ['runs/update FAILED', 'stop'], 'the run was marked FAILED before the server was told to stop');

    const viewer = await viewDefaultStore(dir);
    viewers.push(viewer);
    const run = await onlyRun(clientFor(viewer.url), 'bad-input');
    assert.equal(run.info.status, 'FAILED');
    const tags = tagsOf(run);
    assert.match(tags['mlflow.note.content'] ?? '', /samples_per_class.*"abc"/);
    assert.equal(tags['transferkit.error_code'], 'ERR_PARAM');
  });
});
