import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { MlflowApiError, MlflowUnreachableError, MlflowUsageError } from '../../src/mlflow/errors.js';
import { MlflowHttp, authHeader, type FetchLike, type MlflowHttpOptions } from '../../src/mlflow/http.js';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  redirect: string | undefined;
}
type Responder = (call: Call, signal: AbortSignal) => Response | Promise<Response>;

/** A fetch that answers from a script, one responder per call (the last one repeats). */
function fakeFetch(...script: Responder[]): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = async (input, init) => {
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const body = typeof init?.body === 'string' ? init.body : undefined;
    const call: Call = { url: String(input), method: init?.method ?? 'GET', headers, body, redirect: init?.redirect };
    calls.push(call);
    const responder = script[Math.min(calls.length - 1, script.length - 1)];
    assert.ok(responder !== undefined && init?.signal != null);
    return responder(call, init.signal);
  };
  return { fetch, calls };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Responder => () =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
const ok = json(200, { value: 1 });
const unavailable = json(503, { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' });
const refused: Responder = () => {
  throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED 127.0.0.1:1') });
};
const valueSchema = z.object({ value: z.number() });

/** An MlflowHttp on a fake clock: sleep() advances now() and records the delay. */
function client(fetch: FetchLike, options: Partial<MlflowHttpOptions> = {}): { http: MlflowHttp; sleeps: number[] } {
  const sleeps: number[] = [];
  let now = 1_000_000;
  const http = new MlflowHttp({
    trackingUri: 'http://127.0.0.1:5000',
    fetch,
    random: () => 0.999999,
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    ...options,
  });
  return { http, sleeps };
}

const get = (http: MlflowHttp) => http.json({ method: 'GET', path: '/api/2.0/mlflow/x', query: { a: 'b c', skip: undefined } }, valueSchema);

describe('MlflowHttp retries', () => {
  it('retries a 503 and returns the later success', async () => {
    const { fetch, calls } = fakeFetch(unavailable, unavailable, ok);
    const { http, sleeps } = client(fetch);
    assert.deepEqual(await get(http), { value: 1 });
    assert.equal(calls.length, 3);
    assert.deepEqual(sleeps, [500, 1000]);
    assert.equal(calls[0]?.url, 'http://127.0.0.1:5000/api/2.0/mlflow/x?a=b+c');
  });

  for (const status of [408, 429, 500, 502, 503, 504]) {
    it(`retries status ${status}`, async () => {
      const { fetch, calls } = fakeFetch(json(status, {}), ok);
      const { http } = client(fetch);
      await get(http);
      assert.equal(calls.length, 2);
    });
  }

  for (const [status, code] of [[400, 'INVALID_PARAMETER_VALUE'], [401, undefined], [403, undefined], [404, 'RESOURCE_DOES_NOT_EXIST']] as const) {
    it(`does not retry status ${status}`, async () => {
      const { fetch, calls } = fakeFetch(json(status, code === undefined ? 'denied' : { error_code: code, message: 'nope' }));
      const { http, sleeps } = client(fetch);
      const error = await get(http).then(() => assert.fail('resolved'), (e: unknown) => e);
      assert.ok(error instanceof MlflowApiError);
      assert.equal(error.code, 'ERR_MLFLOW_API');
      assert.equal(error.status, status);
      assert.equal(error.errorCode, code);
      assert.equal(error.retried, 0);
      assert.equal(error.endpoint, 'GET /api/2.0/mlflow/x');
      assert.equal(error.userError, true);
      assert.match(error.message, new RegExp(`HTTP ${status}`));
      assert.equal(calls.length, 1);
      assert.deepEqual(sleeps, []);
    });
  }

  it('backs off exponentially, caps each delay, and stops after maxRetries with the error fields set', async () => {
    const { fetch, calls } = fakeFetch(unavailable);
    const { http, sleeps } = client(fetch);
    const error = await get(http).then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(error instanceof MlflowApiError);
    assert.equal(error.status, 503);
    assert.equal(error.errorCode, 'TEMPORARILY_UNAVAILABLE');
    assert.equal(error.retried, 7);
    assert.equal(error.userError, false);
    assert.match(error.message, /\(after 7 retries\)$/);
    assert.equal(calls.length, 8);
    assert.deepEqual(sleeps, [500, 1000, 2000, 4000, 8000, 10000, 10000]);
  });

  it('jitters each delay within [50 %, 100 %] of its ceiling', async () => {
    const { fetch } = fakeFetch(unavailable, unavailable, unavailable, ok);
    const { http, sleeps } = client(fetch, { random: () => 0 });
    await get(http);
    assert.deepEqual(sleeps, [250, 500, 1000]);
  });

  it('honours Retry-After up to the cap', async () => {
    const { fetch } = fakeFetch(json(429, {}, { 'retry-after': '3' }), json(429, {}, { 'retry-after': '60' }), ok);
    const { http, sleeps } = client(fetch);
    await get(http);
    assert.deepEqual(sleeps, [3000, 10000]);
  });

  it('uses a configured policy', async () => {
    const { fetch, calls } = fakeFetch(unavailable);
    const { http, sleeps } = client(fetch, { retry: { maxRetries: 2, baseDelayMs: 10, maxDelayMs: 15 } });
    await assert.rejects(get(http), (e: unknown) => e instanceof MlflowApiError && e.retried === 2);
    assert.equal(calls.length, 3);
    assert.deepEqual(sleeps, [10, 15]);
  });

  it('gives up at the overall deadline', async () => {
    const { fetch, calls } = fakeFetch(unavailable);
    const { http, sleeps } = client(fetch, { retry: { deadlineMs: 3000 } });
    await assert.rejects(get(http), (e: unknown) => e instanceof MlflowApiError && e.retried === 2);
    // after 500 + 1000 ms of sleeping, the next delay (2000 ms) would end past the 3000 ms deadline
    assert.deepEqual(sleeps, [500, 1000]);
    assert.equal(calls.length, 3);
  });

  it('retries network errors and then throws MlflowUnreachableError', async () => {
    const { fetch, calls } = fakeFetch(refused);
    const { http } = client(fetch, { retry: { maxRetries: 3 } });
    const error = await get(http).then(() => assert.fail('resolved'), (e: unknown) => e);
    assert.ok(error instanceof MlflowUnreachableError);
    assert.equal(error.code, 'ERR_MLFLOW_UNREACHABLE');
    assert.equal(error.status, undefined);
    assert.equal(error.retried, 3);
    assert.match(error.message, /127\.0\.0\.1:5000.*ECONNREFUSED/);
    assert.equal(calls.length, 4);
  });

  it('times out a hanging attempt and retries it', async () => {
    const hang: Responder = (_call, signal) =>
      new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
    const { fetch, calls } = fakeFetch(hang, ok);
    const { http } = client(fetch, { timeoutMs: 20 });
    assert.deepEqual(await get(http), { value: 1 });
    assert.equal(calls.length, 2);

    const { fetch: fetch2 } = fakeFetch(hang);
    const { http: http2 } = client(fetch2, { timeoutMs: 20, retry: { maxRetries: 1 } });
    await assert.rejects(get(http2), (e: unknown) => e instanceof MlflowUnreachableError && /timed out after 20 ms/.test(e.message));
  });

  it('retries when the connection drops while the body is read', async () => {
    const broken: Responder = () =>
      new Response(new ReadableStream({ pull: (c) => c.error(new TypeError('terminated')) }), { status: 200 });
    const { fetch, calls } = fakeFetch(broken, ok);
    const { http } = client(fetch);
    assert.deepEqual(await get(http), { value: 1 });
    assert.equal(calls.length, 2);
  });

  it('does not retry a response of the wrong shape', async () => {
    const { fetch, calls } = fakeFetch(json(200, { value: 'x' }));
    const { http } = client(fetch);
    await assert.rejects(get(http), (e: unknown) => e instanceof MlflowApiError && /unexpected shape \(value:/.test(e.message));
    assert.equal(calls.length, 1);
  });

  it('never follows a redirect', async () => {
    const { fetch, calls } = fakeFetch(() => new Response(null, { status: 302, headers: { location: 'http://evil.example/' } }));
    const { http } = client(fetch);
    await assert.rejects(get(http), (e: unknown) => e instanceof MlflowApiError && e.status === 302 && /evil\.example.*not followed/.test(e.message));
    assert.equal(calls.length, 1);
    assert.equal(calls[0]?.redirect, 'manual');
  });
});

describe('MlflowHttp requests', () => {
  it('POSTs JSON with a content type and sends identical bytes on every retry', async () => {
    const { fetch, calls } = fakeFetch(unavailable, ok);
    const { http } = client(fetch);
    await http.json({ method: 'POST', path: '/api/2.0/mlflow/runs/log-batch', json: { run_id: 'r', n: [1, 2] } }, valueSchema);
    assert.equal(calls[0]?.headers['content-type'], 'application/json');
    assert.equal(calls[0]?.body, '{"run_id":"r","n":[1,2]}');
    assert.equal(calls[1]?.body, calls[0]?.body);
    assert.equal(calls[0]?.method, 'POST');
  });

  it('keeps a path prefix of the tracking URI', async () => {
    const { fetch, calls } = fakeFetch(ok);
    const { http } = client(fetch, { trackingUri: 'https://example.com/mlflow/' });
    await get(http);
    assert.equal(calls[0]?.url, 'https://example.com/mlflow/api/2.0/mlflow/x?a=b+c');
  });

  it('rejects tracking URIs it cannot talk to', () => {
    assert.throws(() => new MlflowHttp({ trackingUri: 'sqlite:///mlflow.db' }), MlflowUsageError);
    assert.throws(() => new MlflowHttp({ trackingUri: 'not a url' }), MlflowUsageError);
    assert.throws(() => new MlflowHttp({ trackingUri: 'http://u:p@host' }), /MLFLOW_TRACKING_USERNAME/);
  });
});

describe('auth', () => {
  it('sends a Bearer token', async () => {
    const { fetch, calls } = fakeFetch(ok);
    const { http } = client(fetch, { env: { MLFLOW_TRACKING_TOKEN: 'tok' } });
    await get(http);
    assert.equal(calls[0]?.headers.authorization, 'Bearer tok');
  });

  it('sends Basic auth from username and password, ahead of a token (as the Python client does)', () => {
    const expected = `Basic ${Buffer.from('ann:s3cret:x').toString('base64')}`;
    assert.equal(authHeader({ MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 's3cret:x' }), expected);
    assert.equal(authHeader({ MLFLOW_TRACKING_USERNAME: 'ann', MLFLOW_TRACKING_PASSWORD: 's3cret:x', MLFLOW_TRACKING_TOKEN: 't' }), expected);
  });

  it('sends no Authorization header without credentials, and rejects half a Basic pair', async () => {
    const { fetch, calls } = fakeFetch(ok);
    const { http } = client(fetch, { env: { MLFLOW_TRACKING_TOKEN: '' } });
    await get(http);
    assert.equal(calls[0]?.headers.authorization, undefined);
    assert.throws(() => authHeader({ MLFLOW_TRACKING_USERNAME: 'ann' }), /MLFLOW_TRACKING_PASSWORD is not set/);
  });
});
