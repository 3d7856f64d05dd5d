/**
 * A run whose tracking cannot start ends FAILED at once; the data work it started meanwhile must stop
 * too (a download is cut), not go on loading data and weights for a run that has already ended. With
 * injected fakes: a server start that fails once the first download has begun, and a download that
 * records whether it was aborted and ends a turn of the event loop after that. Nothing may be logged or
 * downloaded once the command has returned. Nothing is fetched and no clock is involved.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { trainCommand } from '../../src/entry/train.js';
import { LocalServerError } from '../../src/mlflow/errors.js';
import type { LocalServer } from '../../src/tracking/local-server.js';
import { tempDir } from '../support/cli.js';

describe('train over a local store whose server fails to start', () => {
  it('aborts the download under way and exits with the server error', async () => {
    const home = await tempDir('stop-preparing');
    try {
      let downloading: () => void = () => undefined;
      const downloadBegun = new Promise<void>((resolve) => (downloading = resolve));
      // set once trainCommand has returned: nothing of the run may happen after that
      let returned = false;
      const downloads: Array<{ url: string; aborted: boolean; startedAfterReturn: boolean; endedAfterReturn?: boolean }> = [];
      let ended = 0;
      let allEnded: () => void = () => undefined;
      const downloadsEnded = new Promise<void>((resolve) => (allEnded = resolve));
      // a download that never ends by itself: only its signal ends it, a turn of the event loop later
      // (as a real request's teardown does), so that data work not waited for outlives the command
      const fetch: typeof globalThis.fetch = (input, init) => new Promise<Response>((_, reject) => {
        const record: (typeof downloads)[number] = { url: String(input), aborted: false, startedAfterReturn: returned };
        downloads.push(record);
        const abort = () => {
          record.aborted = true;
          setImmediate(() => {
            record.endedAfterReturn = returned;
            reject(init?.signal?.reason);
            if (++ended === downloads.length) allEnded();
          });
        };
        // as fetch does: an aborted signal ends the request at once (a mirror tried after the abort)
        if (init?.signal?.aborted === true) abort();
        init?.signal?.addEventListener('abort', abort);
        downloading();
      });
      const startServer = async (): Promise<LocalServer> => {
        await downloadBegun;
        throw new LocalServerError('mlflow server exited (exit code 1)');
      };
      let out = '';
      const write = { write: (text: string) => (out += text) };
      const logged: Array<{ line: string; afterReturn: boolean }> = [];
      const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push({ line, afterReturn: returned }) });
      const code = await trainCommand(
        ['--dataset', 'mnist', '--backbone', 'small-cnn', '--weights', 'none', '--cache_dir', join(home, 'cache'), '--output_dir', join(home, 'out')],
        {
          env: { PATH: process.env['PATH'], HOME: home, MLFLOW_TRACKING_URI: `sqlite:///${join(home, 'mlflow.db')}` },
          cwd: home, fetch, now: () => Date.now(), stdout: write, stderr: write, logger, startServer,
        },
      );
      returned = true;
      assert.notEqual(code, 0, out);
      assert.match(out, /mlflow server exited/);
      assert.ok(downloads.length > 0, 'a download had begun');
      assert.deepEqual(downloads.filter((d) => !d.aborted), [], 'every download under way was aborted');
      // the downloads' ends, whenever they come (at once when the command waited for them)
      await downloadsEnded;
      assert.deepEqual(downloads.filter((d) => d.startedAfterReturn || d.endedAfterReturn !== false), [], 'every download began and ended before the command returned');
      const late = logged.filter((l) => l.afterReturn).map((l) => l.line);
      assert.deepEqual(late, [], 'nothing was logged after the command returned');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
