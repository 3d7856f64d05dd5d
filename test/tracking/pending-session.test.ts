/**
 * A session still opening holds what the run logs: everything reaches the session once it opens, in
 * the order it was logged and before anything logged later, each metric point stamped when it was
 * logged (not when the session opened). A session that never opens gives its error. A fake session
 * and a fake clock; the opening is settled by hand.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PendingSession, type OpenedSession } from '../../src/tracking/pending-session.js';

type Call = { kind: 'queue'; data: unknown } | { kind: 'metrics'; values: Record<string, number>; step: number; timestamp: number | undefined };

class FakeSession implements OpenedSession {
  readonly calls: Call[] = [];
  readonly runId = 'run-1';
  queue(data: { params?: Readonly<Record<string, string>>; tags?: Readonly<Record<string, string>> }): void {
    this.calls.push({ kind: 'queue', data });
  }
  logMetrics(values: Readonly<Record<string, number>>, step: number, timestamp?: number): void {
    this.calls.push({ kind: 'metrics', values: { ...values }, step, timestamp });
  }
}

function opening<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve: (v: T) => void = () => undefined;
  let reject: (e: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

describe('PendingSession', () => {
  it('passes every held call on in order, stamped when logged, then passes calls straight through', async () => {
    let clock = 1000;
    const o = opening<FakeSession>();
    const pending = new PendingSession(o.promise, () => clock);
    const params = { lr: '0.1' };
    pending.queue({ params, tags: { a: '1' } });
    params.lr = 'changed later'; // the caller's object changing afterwards does not change what was logged
    clock = 2000;
    pending.logMetrics({ loss: 1 }, 0);
    clock = 3000;
    pending.logMetrics({ loss: 0.5 }, 1, 2500);
    pending.queue({ tags: { a: '2' } });
    assert.equal(pending.held, 4);
    assert.equal(pending.runId, undefined);
    const session = new FakeSession();
    clock = 9000;
    o.resolve(session);
    assert.equal(await pending.opened, session);
    assert.equal(pending.runId, 'run-1');
    pending.logMetrics({ loss: 0.25 }, 2);
    assert.deepEqual(session.calls, [
      { kind: 'queue', data: { params: { lr: '0.1' }, tags: { a: '1' } } },
      { kind: 'metrics', values: { loss: 1 }, step: 0, timestamp: 2000 },
      { kind: 'metrics', values: { loss: 0.5 }, step: 1, timestamp: 2500 },
      { kind: 'queue', data: { tags: { a: '2' } } },
      { kind: 'metrics', values: { loss: 0.25 }, step: 2, timestamp: 9000 },
    ]);
    assert.equal(pending.held, 0);
    assert.equal(pending.failure, undefined);
  });

  it('held calls reach the session before anyone awaiting the opening resumes', async () => {
    const o = opening<FakeSession>();
    const pending = new PendingSession(o.promise, () => 0);
    pending.logMetrics({ loss: 1 }, 0);
    const session = new FakeSession();
    o.resolve(session);
    const seen = await pending.opened.then((s) => s.calls.length);
    assert.equal(seen, 1);
  });

  it('a session that never opens: its error, the held calls dropped, later calls ignored', async () => {
    const o = opening<FakeSession>();
    const pending = new PendingSession(o.promise, () => 0);
    pending.logMetrics({ loss: 1 }, 0);
    const error = new Error('mlflow server exited (exit code 1)');
    o.reject(error);
    await assert.rejects(pending.opened, (e) => e === error);
    assert.equal(pending.failure?.error, error);
    pending.queue({ tags: { a: '1' } });
    assert.equal(pending.held, 0);
    assert.equal(pending.session, undefined);
  });
});
