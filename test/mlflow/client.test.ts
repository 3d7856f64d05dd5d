import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { MlflowClient, LIMITS, planBatches, type MetricPoint } from '../../src/mlflow/client.js';
import { MlflowUsageError } from '../../src/mlflow/errors.js';
import type { FetchLike } from '../../src/mlflow/http.js';

interface Call {
  url: URL;
  method: string;
  body: unknown;
  raw: string;
}

/** A fake MLflow server: `route` answers [status, body] per call; every request is recorded. */
function fakeServer(route: (call: Call, index: number) => [number, unknown]): { client: MlflowClient; calls: Call[] } {
  const calls: Call[] = [];
  const fetch: FetchLike = async (input, init) => {
    const raw = typeof init?.body === 'string' ? init.body : '';
    const call: Call = { url: new URL(String(input)), method: init?.method ?? 'GET', body: raw === '' ? undefined : JSON.parse(raw), raw };
    calls.push(call);
    const [status, body] = route(call, calls.length - 1);
    return new Response(JSON.stringify(body), { status });
  };
  const client = new MlflowClient({ trackingUri: 'http://127.0.0.1:5000', fetch, sleep: async () => {}, random: () => 0.5 });
  return { client, calls };
}

const ok = (): [number, unknown] => [200, {}];
const bodyOf = z.object({
  metrics: z.array(z.object({ key: z.string(), value: z.unknown(), timestamp: z.number(), step: z.number() })).default([]),
  params: z.array(z.object({ key: z.string(), value: z.string() })).default([]),
  tags: z.array(z.object({ key: z.string(), value: z.string() })).default([]),
});
const points = (n: number, key = 'loss'): MetricPoint[] =>
  Array.from({ length: n }, (_, i) => ({ key, value: i / 7, timestamp: 1_700_000_000_000 + i, step: i }));
const kv = (n: number, prefix: string, value = 'v'): Record<string, string> =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, value]));
const shape = (batches: ReturnType<typeof planBatches>) => batches.map((b) => [b.params.length, b.tags.length, b.metrics.length]);

describe('logBatch wire format', () => {
  it('sends NaN and the infinities as strings, other values as numbers, with the caller’s timestamps', async () => {
    const { client, calls } = fakeServer(ok);
    const metrics = [
      { key: 'a', value: NaN, timestamp: 11, step: 0 },
      { key: 'a', value: Infinity, timestamp: 12, step: 1 },
      { key: 'a', value: -Infinity, timestamp: 13, step: 2 },
      { key: 'a', value: -0.25, timestamp: 14 },
    ];
    assert.equal(await client.logBatch({ runId: 'r1', metrics }), 1);
    assert.equal(calls[0]?.url.pathname, '/api/2.0/mlflow/runs/log-batch');
    assert.match(calls[0]?.raw ?? '', /"value":"NaN".*"value":"Infinity".*"value":"-Infinity".*"value":-0\.25/);
    assert.deepEqual(bodyOf.parse(calls[0]?.body).metrics, [
      { key: 'a', value: 'NaN', timestamp: 11, step: 0 },
      { key: 'a', value: 'Infinity', timestamp: 12, step: 1 },
      { key: 'a', value: '-Infinity', timestamp: 13, step: 2 },
      { key: 'a', value: -0.25, timestamp: 14, step: 0 },
    ]);
  });

  it('sends nothing for an empty batch', async () => {
    const { client, calls } = fakeServer(ok);
    assert.equal(await client.logBatch({ runId: 'r1' }), 0);
    assert.equal(calls.length, 0);
  });
});

describe('planBatches splits exactly at the limits', () => {
  it('1000 metrics fit one request, 1001 need two', () => {
    assert.deepEqual(shape(planBatches({ metrics: points(1000) })), [[0, 0, 1000]]);
    assert.deepEqual(shape(planBatches({ metrics: points(1001) })), [[0, 0, 1000], [0, 0, 1]]);
  });

  it('100 params fit one request, 101 need two; likewise tags', () => {
    assert.deepEqual(shape(planBatches({ params: kv(100, 'p') })), [[100, 0, 0]]);
    assert.deepEqual(shape(planBatches({ params: kv(101, 'p') })), [[100, 0, 0], [1, 0, 0]]);
    assert.deepEqual(shape(planBatches({ tags: kv(250, 't') })), [[0, 100, 0], [0, 100, 0], [0, 50, 0]]);
  });

  it('1000 items in all fit one request, 1001 need two', () => {
    assert.deepEqual(shape(planBatches({ params: kv(100, 'p'), tags: kv(100, 't'), metrics: points(800) })), [[100, 100, 800]]);
    assert.deepEqual(shape(planBatches({ params: kv(100, 'p'), tags: kv(100, 't'), metrics: points(801) })), [
      [100, 100, 800],
      [0, 0, 1],
    ]);
  });

  it('keeps every point, in order, across requests', () => {
    const all = planBatches({ metrics: points(2500) }).flatMap((b) => b.metrics.map((m) => m.step));
    assert.deepEqual(all, Array.from({ length: 2500 }, (_, i) => i));
  });

  it('keeps each request body under the server’s 1 MB limit', () => {
    // 100 params of 6000 characters that JSON escapes to 6 bytes each: ~3.6 MB in all
    const params = kv(100, 'p', '\u0001'.repeat(LIMITS.paramValueLength));
    const batches = planBatches({ params });
    assert.ok(batches.length >= 4, `expected >= 4 requests, got ${batches.length}`);
    for (const batch of batches) assert.ok(Buffer.byteLength(JSON.stringify({ run_id: 'x'.repeat(32), ...batch })) < 1_000_000);
    assert.equal(batches.reduce((n, b) => n + b.params.length, 0), 100);
  });

  it('sends each planned request to the server', async () => {
    const { client, calls } = fakeServer(ok);
    assert.equal(await client.logBatch({ runId: 'r1', metrics: points(2001), params: kv(3, 'p') }), 3);
    assert.deepEqual(
      calls.map((c) => bodyOf.parse(c.body)).map((b) => [b.params.length, b.metrics.length]),
      [[3, 997], [0, 1000], [0, 4]],
    );
  });
});

describe('keys and values', () => {
  it('rejects a key over 250 characters before sending anything', async () => {
    const { client, calls } = fakeServer(ok);
    const key = 'k'.repeat(251);
    await assert.rejects(client.logBatch({ runId: 'r', metrics: points(5), params: { [key]: 'v' } }), (e: unknown) =>
      e instanceof MlflowUsageError && /param key .* is 251 characters long; MLflow allows at most 250/.test(e.message));
    assert.equal(calls.length, 0);
    assert.doesNotThrow(() => planBatches({ params: { ['k'.repeat(250)]: 'v' } }));
  });

  it('rejects keys the server would reject', () => {
    for (const key of ['', 'a\\b', 'a;b', '../x', '/abs', 'a//b', 'a/', 'a/./b', '..x']) {
      assert.throws(() => planBatches({ metrics: [{ key, value: 1, timestamp: 1 }] }), MlflowUsageError, key);
    }
    assert.doesNotThrow(() => planBatches({ metrics: [{ key: 'val/acc top-5:ü_1.x', value: 1, timestamp: 1 }] }));
  });

  it('truncates tag values over 8000 characters with a marker', () => {
    const [batch] = planBatches({ tags: { note: 'x'.repeat(9000), short: 'y'.repeat(8000) } });
    const [note, short] = batch?.tags ?? [];
    assert.equal([...(note?.value ?? '')].length, 8000);
    assert.match(note?.value ?? '', /^x+… \[truncated from 9000 characters\]$/);
    assert.equal(short?.value, 'y'.repeat(8000));
  });

  it('rejects param values over 6000 characters, naming the param', () => {
    assert.throws(() => planBatches({ params: { lr: '1'.repeat(6001) } }), /param "lr" has a value of 6001 characters; MLflow allows at most 6000/);
  });

  it('rejects non-integer timestamps and steps', () => {
    assert.throws(() => planBatches({ metrics: [{ key: 'a', value: 1, timestamp: 1.5 }] }), /timestamp 1\.5 \(number\)/);
    assert.throws(() => planBatches({ metrics: [{ key: 'a', value: 1, timestamp: 1, step: 0.5 }] }), /step 0\.5/);
  });
});

describe('MlflowClient endpoints', () => {
  const experiment = { experiment_id: '7', name: 'e', lifecycle_stage: 'active', artifact_location: 'mlflow-artifacts:/7' };

  it('getExperimentByName returns undefined for RESOURCE_DOES_NOT_EXIST', async () => {
    const { client, calls } = fakeServer(() => [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }]);
    assert.equal(await client.getExperimentByName('a b'), undefined);
    assert.equal(calls[0]?.url.searchParams.get('experiment_name'), 'a b');
  });

  it('getOrCreateExperiment survives losing the creation race', async () => {
    const script: Array<[number, unknown]> = [
      [404, { error_code: 'RESOURCE_DOES_NOT_EXIST', message: 'no' }],
      [400, { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'exists' }],
      [200, { experiment }],
    ];
    const { client, calls } = fakeServer((_c, i) => script[i] ?? [500, {}]);
    assert.equal((await client.getOrCreateExperiment('e')).experiment_id, '7');
    assert.deepEqual(calls.map((c) => c.url.pathname.split('/').slice(-2).join('/')), [
      'experiments/get-by-name',
      'experiments/create',
      'experiments/get-by-name',
    ]);
  });

  it('getOrCreateExperiment passes other errors on', async () => {
    const { client } = fakeServer((_c, i) => (i === 0 ? [404, { error_code: 'RESOURCE_DOES_NOT_EXIST' }] : [403, { error_code: 'PERMISSION_DENIED' }]));
    await assert.rejects(client.getOrCreateExperiment('e'), /PERMISSION_DENIED/);
  });

  it('createRun sends parent tags and its client token in runs/create', async () => {
    const run = { info: { run_id: 'r', experiment_id: '7', status: 'RUNNING', artifact_uri: 'mlflow-artifacts:/7/r/artifacts', lifecycle_stage: 'active' } };
    const { client, calls } = fakeServer(() => [200, { run }]);
    const created = await client.createRun({ experimentId: '7', runName: 'child', startTime: 5, tags: { 'mlflow.parentRunId': 'p' }, clientToken: 'tok-1' });
    assert.equal(created.info.run_id, 'r');
    assert.deepEqual(created.data, { metrics: [], params: [], tags: [] });
    assert.deepEqual(calls[0]?.body, {
      experiment_id: '7', run_name: 'child', start_time: 5, tags: [{ key: 'mlflow.parentRunId', value: 'p' }, { key: 'transferkit.client_token', value: 'tok-1' }],
    });
    await client.createRun({ experimentId: '7', startTime: 5 });
    assert.match(JSON.stringify(calls[1]?.body), /"transferkit\.client_token","value":"[0-9a-f-]{36}"/, 'a new random token by default');
  });

  it('createRun looks for the run its lost attempt created before creating again', async () => {
    const run = { info: { run_id: 'r', experiment_id: '7', status: 'RUNNING', artifact_uri: 'x', lifecycle_stage: 'active' } };
    const calls: string[] = [];
    const fetch: FetchLike = async (input, init) => {
      const path = new URL(String(input)).pathname.split('/').slice(-2).join('/');
      calls.push(`${path} ${typeof init?.body === 'string' ? init.body : ''}`);
      if (path === 'runs/create') throw new TypeError('fetch failed: other side closed');
      return new Response(JSON.stringify({ runs: [run] }), { status: 200 });
    };
    const client = new MlflowClient({ trackingUri: 'http://127.0.0.1:5000', fetch, sleep: async () => {}, random: () => 0.5 });
    assert.equal((await client.createRun({ experimentId: '7', startTime: 5, clientToken: 'tok-2' })).info.run_id, 'r');
    assert.equal(calls.length, 2, calls.join('\n'));
    assert.match(calls[1] ?? '', /^runs\/search .*"experiment_ids":\["7"\].*tags\.`transferkit\.client_token` = 'tok-2'/);
  });

  it('getMetricHistory follows pages and turns "NaN"/"Infinity" back into numbers', async () => {
    const pages: Array<[number, unknown]> = [
      [200, { metrics: [{ key: 'm', value: 'NaN', timestamp: 1, step: 0 }, { key: 'm', value: '-Infinity', timestamp: 1, step: 1 }], next_page_token: 't1' }],
      [200, { metrics: [{ key: 'm', value: 2.5, timestamp: '3', step: '2' }] }],
    ];
    const { client, calls } = fakeServer((_c, i) => pages[i] ?? [500, {}]);
    const history = await client.getMetricHistory('r', 'm', 2);
    assert.equal(history.length, 3);
    assert.ok(Number.isNaN(history[0]?.value));
    assert.equal(history[1]?.value, -Infinity);
    assert.deepEqual(history[2], { key: 'm', value: 2.5, timestamp: 3, step: 2 });
    assert.equal(calls[0]?.url.searchParams.get('max_results'), '2');
    assert.equal(calls[0]?.url.searchParams.get('page_token'), null);
    assert.equal(calls[1]?.url.searchParams.get('page_token'), 't1');
  });

  it('iterateRuns follows next_page_token', async () => {
    const run = (id: string) => ({ info: { run_id: id, experiment_id: '1', status: 'FINISHED', artifact_uri: 'x', lifecycle_stage: 'active' } });
    const pages: Array<[number, unknown]> = [[200, { runs: [run('a'), run('b')], next_page_token: 'n' }], [200, { runs: [run('c')] }]];
    const { client, calls } = fakeServer((_c, i) => pages[i] ?? [500, {}]);
    const ids: string[] = [];
    for await (const r of client.iterateRuns({ experimentIds: ['1'], filter: 'tags.x = "y"', maxResults: 2 })) ids.push(r.info.run_id);
    assert.deepEqual(ids, ['a', 'b', 'c']);
    assert.deepEqual(calls[1]?.body, { experiment_ids: ['1'], filter: 'tags.x = "y"', max_results: 2, page_token: 'n' });
  });

  it('updateRun, setTag, logParam and logModel send MLflow’s field names', async () => {
    const { client, calls } = fakeServer(ok);
    await client.updateRun({ runId: 'r', status: 'FINISHED', endTime: 9 });
    await client.setTag('r', 'mlflow.note.content', 'hi');
    await client.logParam('r', 'lr', '0.001');
    await client.logModel('r', { artifactPath: 'model', utcTimeCreated: '2024-01-01 00:00:00.000000', flavors: { tfjs: { format: 'layers-model' } } });
    assert.deepEqual(calls.map((c) => c.url.pathname.replace('/api/2.0/mlflow/', '')), ['runs/update', 'runs/set-tag', 'runs/log-parameter', 'runs/log-model']);
    assert.deepEqual(calls[0]?.body, { run_id: 'r', status: 'FINISHED', end_time: 9 });
    assert.deepEqual(calls[1]?.body, { run_id: 'r', key: 'mlflow.note.content', value: 'hi' });
    assert.deepEqual(calls[2]?.body, { run_id: 'r', key: 'lr', value: '0.001' });
    const body = z.object({ run_id: z.string(), model_json: z.string() }).parse(calls[3]?.body);
    assert.deepEqual(JSON.parse(body.model_json), {
      run_id: 'r', artifact_path: 'model', utc_time_created: '2024-01-01 00:00:00.000000', flavors: { tfjs: { format: 'layers-model' } },
    });
  });
});
