/**
 * `transferkit train` over a local store starts its private server before the heavy imports; the
 * session claims that server when it asks for one over the same store. With an injected starter:
 * no real server, and the order of events (not the clock) is what is checked.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { exitOnSignals, startServerEarly, type EarlyServer } from '../../src/entry/early-server.js';
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

  it('starts nothing for arguments that end the command before a run is opened', () => {
    const { start, calls } = fakeStarts();
    for (const argv of [['train', 'oops'], ['train', '--log_format', 'bogus'], ['train', '--max_epochs'], ['train', '--seed', '1', '--seed', '2'], ['train', '--debug', '--log-format']]) {
      assert.equal(startServerEarly(argv, {}, CWD, start), undefined, argv.join(' '));
    }
    assert.equal(startServerEarly(['train'], { TRANSFERKIT_LOG_FORMAT: 'xml' }, CWD, start), undefined);
    assert.deepEqual(calls, []);
    // a bad value still ends a run FAILED (train.ts opens it): the server is wanted
    assert.ok(startServerEarly(['train', '--samples_per_class', 'abc', '--log_format', 'json', '--debug'], {}, CWD, start));
    assert.equal(calls.length, 1);
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

  it('lets a start under way finish on release, then stops the server; killNow aborts the start', async () => {
    // a start that settles when the test says so, or when its signal is aborted
    const signals: AbortSignal[] = [];
    const stopped: number[] = [];
    let finishStart: () => void = () => undefined;
    const start = (options: LocalServerOptions): Promise<LocalServer> => new Promise((resolve, reject) => {
      const pid = signals.length + 1;
      if (options.signal !== undefined) signals.push(options.signal);
      options.signal?.addEventListener('abort', () => reject(new Error('cancelled')));
      finishStart = () => resolve({ url: 'http://127.0.0.1:1', pid, artifactsDestination: options.artifactsDestination, output: () => '', stop: async () => void stopped.push(pid) });
    });
    const early = startServerEarly(['train'], {}, CWD, start);
    assert.ok(early);
    let released = false;
    const releasing = early.release().then(() => (released = true));
    await Promise.resolve();
    assert.equal(signals[0]?.aborted, false, 'a start under way is not killed: it may be setting up a new store');
    assert.equal(released, false);
    assert.deepEqual(stopped, []);
    finishStart();
    await releasing;
    assert.deepEqual(stopped, [1], 'stopped once it was up');
    const other = startServerEarly(['train'], {}, CWD, start);
    assert.ok(other);
    other.killNow();
    assert.equal(signals[1]?.aborted, true);
  });
});

describe('exitOnSignals', () => {
  function fakeProcess() {
    const emitter = new EventEmitter();
    const exits: number[] = [];
    const said: string[] = [];
    const target = {
      on: (s: string, h: () => void) => emitter.on(s, h), removeListener: (s: string, h: () => void) => emitter.removeListener(s, h),
      exit: (code: number) => void exits.push(code), stderr: { write: (text: string) => said.push(text) },
    };
    return { exits, emitter, said, target };
  }
  function fakeEarly() {
    const events: string[] = [];
    let finishRelease: () => void = () => undefined;
    const early: EarlyServer = {
      starter: () => Promise.reject(new Error('not used')),
      release: () => new Promise<void>((resolve) => {
        events.push('release');
        finishRelease = () => (events.push('released'), resolve());
      }),
      killNow: () => void events.push('kill'),
    };
    return { early, events, finish: () => finishRelease() };
  }

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${signal}: stops the server as release does, then exits ${code}; a second one kills at once`, async () => {
      const { early, events, finish } = fakeEarly();
      const { target, exits, emitter, said } = fakeProcess();
      const interim = exitOnSignals(early, target);
      assert.equal(interim.stopping(), undefined);
      emitter.emit(signal);
      const stopping = interim.stopping();
      assert.ok(stopping, 'cli.ts runs no command once a signal came');
      assert.deepEqual(events, ['release'], 'not killed: a start under way may be setting up the store');
      assert.deepEqual(exits, [], 'no exit before the server has stopped');
      assert.match(said.join(''), new RegExp(`^transferkit: ${signal}: stopping the private mlflow server .*; ${signal} again kills it at once\n$`));
      finish();
      await stopping;
      assert.deepEqual(events, ['release', 'released']);
      assert.deepEqual(exits, [code]);

      interim.take();
      assert.deepEqual(['SIGINT', 'SIGTERM', 'SIGHUP'].map((s) => emitter.listenerCount(s)), [0, 0, 0], 'main takes every signal over');

      const second = fakeEarly();
      const other = fakeProcess();
      exitOnSignals(second.early, other.target);
      other.emitter.emit(signal);
      other.emitter.emit(signal);
      assert.deepEqual(second.events, ['release', 'kill']);
      assert.deepEqual(other.exits, [code]);
    });
  }
});
