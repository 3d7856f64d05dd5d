/**
 * The entry's helpers around a session still opening: which run id is known before the server
 * answers, a data step that gives up as soon as tracking fails (without waiting for the step), and
 * the pipeline's later run id (none until the session opens; the wait at the end is logged).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { knownRunId, laterRunId, unlessOpeningFails } from '../../src/entry/train-tracking.js';
import { PendingSession, type OpenedSession } from '../../src/tracking/pending-session.js';

const never = new Promise<never>(() => undefined);
const session = (runId: string): OpenedSession => ({ runId, queue: () => undefined, logMetrics: () => undefined });

describe('train-tracking', () => {
  it('knownRunId: a resumed run\'s id, else MLFLOW_RUN_ID, else none', () => {
    assert.equal(knownRunId({ runId: 'r1' }, { MLFLOW_RUN_ID: 'm1' }), 'r1');
    assert.equal(knownRunId({}, { MLFLOW_RUN_ID: 'm1' }), 'm1');
    assert.equal(knownRunId(undefined, { MLFLOW_RUN_ID: '' }), undefined);
    assert.equal(knownRunId(undefined, {}), undefined);
  });

  it('unlessOpeningFails: the work\'s result; the opening\'s error at once, not after the work', async () => {
    assert.equal(await unlessOpeningFails(Promise.resolve(1), never), 1);
    assert.equal(await unlessOpeningFails(Promise.resolve(2), Promise.resolve('open')), 2);
    assert.equal(await unlessOpeningFails(Promise.resolve(3), undefined), 3);
    const error = new Error('server exited');
    await assert.rejects(unlessOpeningFails(never, Promise.reject(error)), (e) => e === error);
    await assert.rejects(unlessOpeningFails(Promise.reject(new Error('data')), never), /data/);
  });

  it('laterRunId: undefined until the session opens, then its id; settled waits and logs the wait', async () => {
    let open: (s: OpenedSession) => void = () => undefined;
    const pending = new PendingSession(new Promise<OpenedSession>((resolve) => (open = resolve)), () => 0);
    const lines: string[] = [];
    let clock = 100;
    const id = laterRunId(pending, 'tok', { now: () => clock, logger: pino({ level: 'debug' }, { write: (l: string) => void lines.push(l) }) });
    assert.equal(id.current(), undefined);
    assert.equal(id.token, 'tok');
    const settled = id.settled();
    clock = 350;
    open(session('run-7'));
    assert.equal(await settled, 'run-7');
    assert.equal(id.current(), 'run-7');
    assert.equal(lines.length, 1);
    assert.match(lines[0] ?? '', /"waited_ms":250,"after":"training","msg":"waited this long for the MLflow run"/);
  });
});
