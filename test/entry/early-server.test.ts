/**
 * `transferkit train` over a local store starts its private server before the heavy imports; the
 * session claims that server when it asks for one over the same store. With an injected starter:
 * no real server, and the order of events (not the clock) is what is checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServerEarly } from '../../src/entry/early-server.js';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { resolveTrackingStore, type LocalServer, type LocalServerOptions } from '../../src/tracking/local-server.js';

const CWD = '/tmp/transferkit-early-server';

function fakeStarts(fail?: Error) {
  const calls: LocalServerOptions[] = [];
  const stopped: number[] = [];
  const start = (options: LocalServerOptions): Promise<LocalServer> => {
    calls.push(options);
    options.logger?.info({ ms: 1 }, 'mlflow server is up');
    const pid = calls.length;
    if (fail !== undefined) return Promise.reject(fail);
    return Promise.resolve({ url: `http://127.0.0.1:${pid}`, pid, artifactsDestination: options.artifactsDestination, output: () => '', stop: async () => void stopped.push(pid) });
  };
  return { start, calls, stopped };
}

/** The options the tracking session asks for (src/tracking/session.ts), with its logger. */
function sessionOptions(env: Record<string, string | undefined>, logged: string[]): LocalServerOptions {
  const store = resolveTrackingStore(env['MLFLOW_TRACKING_URI'], CWD);
  assert.equal(store.kind, 'local');
  if (store.kind !== 'local') throw new Error('not local');
  const logger = { debug: () => undefined, info: (_: object, msg?: string) => void logged.push(msg ?? ''), warn: () => undefined };
  return { storeUri: store.storeUri, artifactsDestination: store.artifactsDestination, defaultArtifactRoot: store.defaultArtifactRoot, mlflowBin: findMlflow({ env }), env, logger, cwd: CWD };
}

describe('startServerEarly', () => {
  it('starts nothing unless a tracked train runs over a local store', () => {
    const { start, calls } = fakeStarts();
    assert.equal(startServerEarly(['predict', '--model', 'm'], {}, CWD, start), undefined);
    assert.equal(startServerEarly(['train', '--help'], {}, CWD, start), undefined);
    assert.equal(startServerEarly(['train'], { TRANSFERKIT_TRACKING: 'off' }, CWD, start), undefined);
    assert.equal(startServerEarly(['train'], { MLFLOW_TRACKING_URI: 'http://127.0.0.1:5000' }, CWD, start), undefined);
    assert.equal(startServerEarly(['train'], { MLFLOW_TRACKING_URI: 'sqlite:///:memory:' }, CWD, start), undefined, 'a bad URI is the session\'s error to report');
    assert.deepEqual(calls, []);
  });

  it('starts at once; the session claims that server and gets its log lines; a second ask starts another', async () => {
    const { start, calls, stopped } = fakeStarts();
    const early = startServerEarly(['train', '--max_epochs', '1'], {}, CWD, start);
    assert.ok(early);
    assert.equal(calls.length, 1, 'started before anything asked for it');
    const logged: string[] = [];
    const server = await early.starter(sessionOptions({}, logged));
    assert.equal(server.pid, 1);
    assert.deepEqual(logged, ['mlflow server is up'], 'the held log line reaches the session\'s logger');
    assert.equal((await early.starter(sessionOptions({}, []))).pid, 2);
    await early.release();
    assert.deepEqual(stopped, [], 'a claimed server is its session\'s to stop');
  });

  it('does not hand out a server over another store, and stops one nobody claimed', async () => {
    const { start, calls, stopped } = fakeStarts();
    const early = startServerEarly(['train'], {}, CWD, start);
    assert.ok(early);
    const other = await early.starter(sessionOptions({ MLFLOW_TRACKING_URI: 'sqlite:///other.db' }, []));
    assert.equal(other.pid, 2);
    assert.equal(calls[1]?.storeUri, `sqlite:///${CWD}/other.db`);
    await early.release();
    assert.deepEqual(stopped, [1]);
  });

  it('gives a failed start to the session that claims it, and nothing to release', async () => {
    const { start } = fakeStarts(new Error('mlflow server exited (exit code 1)'));
    const claimed = startServerEarly(['train'], {}, CWD, start);
    assert.ok(claimed);
    await assert.rejects(claimed.starter(sessionOptions({}, [])), /exited \(exit code 1\)/);
    const unclaimed = startServerEarly(['train'], {}, CWD, start);
    assert.ok(unclaimed);
    await unclaimed.release();
  });

  it('cancels a start under way on release, and killNow aborts it too', async () => {
    // a start that never becomes healthy: it settles only when its signal is aborted
    const signals: AbortSignal[] = [];
    const start = (options: LocalServerOptions): Promise<LocalServer> => new Promise((_, reject) => {
      if (options.signal !== undefined) signals.push(options.signal);
      options.signal?.addEventListener('abort', () => reject(new Error('cancelled')));
    });
    const early = startServerEarly(['train'], {}, CWD, start);
    assert.ok(early);
    await early.release(); // before the fix: waited for the start's own end (the 60 s health check)
    assert.equal(signals[0]?.aborted, true);
    const other = startServerEarly(['train'], {}, CWD, start);
    assert.ok(other);
    other.killNow();
    assert.equal(signals[1]?.aborted, true);
  });
});
