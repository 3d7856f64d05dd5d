/** MlflowClient and RunArtifacts against a real `mlflow server` (sqlite + served artifacts). */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunArtifacts } from '../../src/mlflow/artifacts.js';
import { MlflowClient, type MetricPoint } from '../../src/mlflow/client.js';
import { MlflowApiError, MlflowUnreachableError } from '../../src/mlflow/errors.js';
import { startFlakyProxy } from '../support/flaky-proxy.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

let server: TestServer;
let client: MlflowClient;
let experimentId = '';
const T0 = 1_700_000_000_000;

const newRun = async (name: string, tags: Record<string, string> = {}) =>
  client.createRun({ experimentId, runName: name, startTime: Date.now(), tags });

describe('MlflowClient against a real server', { timeout: 180_000 }, () => {
  before(async () => {
    server = await startTestServer();
    client = new MlflowClient({ trackingUri: server.url, retry: { maxRetries: 2, baseDelayMs: 100, maxDelayMs: 500 } });
    experimentId = (await client.getOrCreateExperiment('transferkit-int')).experiment_id;
  });
  after(async () => server?.stop());

  it('gets or creates an experiment idempotently', async () => {
    assert.equal((await client.getOrCreateExperiment('transferkit-int')).experiment_id, experimentId);
    assert.equal(await client.getExperimentByName('no such experiment'), undefined);
    const both = await Promise.all([client.getOrCreateExperiment('raced'), client.getOrCreateExperiment('raced')]);
    assert.equal(both[0].experiment_id, both[1].experiment_id);
  });

  it('creates a nested run whose parent tag is set at creation', async () => {
    const parent = await newRun('parent');
    const child = await newRun('child', { 'mlflow.parentRunId': parent.info.run_id });
    assert.equal(child.info.status, 'RUNNING');
    assert.match(child.info.artifact_uri, new RegExp(`^mlflow-artifacts:/${experimentId}/${child.info.run_id}/artifacts$`));
    const read = await client.getRun(child.info.run_id);
    assert.deepEqual(read.data.tags.find((t) => t.key === 'mlflow.parentRunId')?.value, parent.info.run_id);
    assert.equal(read.info.run_name, 'child');
  });

  it('logs > 1000 metric points incl. NaN and ±Infinity and reads every one back', async () => {
    const run = await newRun('metrics');
    const special = [NaN, Infinity, -Infinity];
    const metrics: MetricPoint[] = Array.from({ length: 2345 }, (_, i) => ({
      key: 'train/loss', value: i < 3 ? (special[i] ?? 0) : 1 / (i + 1), timestamp: T0 + i, step: i,
    }));
    metrics.push({ key: 'val/acc', value: 0.5, timestamp: T0, step: 0 });
    assert.equal(await client.logBatch({ runId: run.info.run_id, metrics }), 3);
    const history = await client.getMetricHistory(run.info.run_id, 'train/loss');
    assert.equal(history.length, 2345);
    const byStep = new Map(history.map((m) => [m.step, m]));
    assert.ok(Number.isNaN(byStep.get(0)?.value));
    // the sqlite store clamps ±Infinity to ±Number.MAX_VALUE (NaN survives as "NaN")
    assert.equal(byStep.get(1)?.value, Number.MAX_VALUE);
    assert.equal(byStep.get(2)?.value, -Number.MAX_VALUE);
    for (let i = 3; i < 2345; i++) assert.equal(byStep.get(i)?.value, 1 / (i + 1), `step ${i}`);
    assert.equal(byStep.get(2344)?.timestamp, T0 + 2344);
    const paged = await client.getMetricHistory(run.info.run_id, 'train/loss', 1000);
    assert.equal(paged.length, 2345);
    assert.equal(new Set(paged.map((m) => m.step)).size, 2345);
  });

  it('logs params and tags; a param cannot change but may be re-logged unchanged', async () => {
    const run = await newRun('params');
    const params = Object.fromEntries(Array.from({ length: 150 }, (_, i) => [`p${i}`, `v${i}`]));
    await client.logBatch({ runId: run.info.run_id, params, tags: { 'long.tag': 'z'.repeat(9000), kind: 'test' } });
    await client.logParam(run.info.run_id, 'p0', 'v0');
    await client.setTag(run.info.run_id, 'kind', 'changed');
    const read = await client.getRun(run.info.run_id);
    assert.equal(read.data.params.length, 150);
    assert.equal(read.data.params.find((p) => p.key === 'p149')?.value, 'v149');
    assert.equal(read.data.tags.find((t) => t.key === 'kind')?.value, 'changed');
    const long = read.data.tags.find((t) => t.key === 'long.tag')?.value ?? '';
    assert.equal(long.length, 8000);
    assert.match(long, /truncated from 9000 characters\]$/);
    await assert.rejects(client.logParam(run.info.run_id, 'p0', 'other'), (e: unknown) =>
      e instanceof MlflowApiError && e.status === 400 && e.errorCode === 'INVALID_PARAMETER_VALUE' && e.retried === 0);
  });

  it('uploads a nested directory and lists and downloads it byte-identical', async () => {
    const run = await newRun('artifacts');
    const local = await mkdtemp(join(tmpdir(), 'transferkit-art-src-'));
    try {
      const files: Record<string, Buffer> = {
        'MLmodel': Buffer.from('artifact_path: model\nflavors: {}\n'),
        'model/model.json': Buffer.from(JSON.stringify({ format: 'layers-model' })),
        'model/group 1/shard [1]+%.bin': randomBytes(1_500_000),
        'model/group 1/empty.bin': Buffer.alloc(0),
        'model/deep/er/ü.txt': Buffer.from('ünïcödé'),
      };
      for (const [path, bytes] of Object.entries(files)) {
        await mkdir(join(local, path, '..'), { recursive: true });
        await writeFile(join(local, path), bytes);
      }
      const artifacts = new RunArtifacts(client.http, run.info.artifact_uri);
      const uploaded = await artifacts.uploadDirectory(local, 'model-dir');
      assert.equal(uploaded.length, 5);
      const listed = await artifacts.listFiles();
      assert.deepEqual(listed.map((f) => f.path), Object.keys(files).map((p) => `model-dir/${p}`).sort());
      assert.equal(listed.find((f) => f.path.endsWith('shard [1]+%.bin'))?.fileSize, 1_500_000);
      assert.deepEqual((await artifacts.list('model-dir')).map((e) => [e.path, e.isDir]), [['model-dir/MLmodel', false], ['model-dir/model', true]]);
      for (const [path, bytes] of Object.entries(files)) assert.ok((await artifacts.download(`model-dir/${path}`)).equals(bytes), path);
      const onDisk = await readFile(join(server.artifactsDir, experimentId, run.info.run_id, 'artifacts', 'model-dir', 'model', 'group 1', 'shard [1]+%.bin'));
      assert.ok(onDisk.equals(files['model/group 1/shard [1]+%.bin'] ?? Buffer.alloc(1)));
      await assert.rejects(artifacts.download('model-dir/missing.bin'), (e: unknown) => e instanceof MlflowApiError && e.status === 404);
    } finally {
      await rm(local, { recursive: true, force: true });
    }
  });

  it('records a logged model in mlflow.log-model.history', async () => {
    const run = await newRun('model');
    await client.logModel(run.info.run_id, { artifactPath: 'model', utcTimeCreated: '2025-01-01 00:00:00.000000', flavors: { tfjs: { format: 'layers-model' } } });
    const tag = (await client.getRun(run.info.run_id)).data.tags.find((t) => t.key === 'mlflow.log-model.history');
    assert.ok(tag !== undefined);
    const history: unknown = JSON.parse(tag.value);
    assert.ok(Array.isArray(history) && history.length === 1);
    assert.match(tag.value, /"artifact_path": "model"/);
  });

  it('updates status and end time, and finds runs with a filter across pages', async () => {
    const runs = [await newRun('s1', { group: 'g' }), await newRun('s2', { group: 'g' }), await newRun('s3', { group: 'h' })];
    const end = Date.now();
    for (const run of runs.slice(0, 2)) await client.updateRun({ runId: run.info.run_id, status: 'FINISHED', endTime: end });
    const info = (await client.getRun(runs[0]?.info.run_id ?? '')).info;
    assert.equal(info.status, 'FINISHED');
    assert.equal(info.end_time, end);
    const found: string[] = [];
    for await (const run of client.iterateRuns({ experimentIds: [experimentId], filter: "tags.group = 'g' and attributes.status = 'FINISHED'", maxResults: 1 })) {
      found.push(run.info.run_name ?? '');
    }
    assert.deepEqual(found.sort(), ['s1', 's2']);
    const page = await client.searchRuns({ experimentIds: [experimentId], filter: "tags.group = 'h'", orderBy: ['start_time DESC'], maxResults: 5 });
    assert.deepEqual(page.runs.map((r) => r.info.run_name), ['s3']);
  });

  it('loses and duplicates no metric point through a proxy failing ~30 % of requests', async () => {
    const run = await newRun('flaky');
    const proxy = await startFlakyProxy({ target: server.url, failureRate: 0.3, seed: 7 });
    try {
      const flaky = new MlflowClient({ trackingUri: proxy.url, retry: { maxRetries: 30, baseDelayMs: 5, maxDelayMs: 50 } });
      const N = 3000;
      for (let start = 0; start < N; start += 50) {
        const metrics = Array.from({ length: 50 }, (_, j) => ({ key: 'm', value: (start + j) * 0.5, timestamp: T0 + start + j, step: start + j }));
        await flaky.logBatch({ runId: run.info.run_id, metrics });
      }
      proxy.down();
      const late = flaky.logBatch({ runId: run.info.run_id, metrics: [{ key: 'm', value: -1, timestamp: T0 + N, step: N }] });
      setTimeout(() => proxy.up(), 300);
      await late;
      const history = await client.getMetricHistory(run.info.run_id, 'm');
      assert.equal(history.length, N + 1);
      assert.equal(new Set(history.map((m) => m.step)).size, N + 1);
      assert.ok(proxy.stats['status-503'] > 0 && proxy.stats['reset-before'] > 0 && proxy.stats['drop-response'] > 0, JSON.stringify(proxy.stats));
      assert.ok(proxy.stats.refusedWhileDown > 0);
    } finally {
      await proxy.close();
    }
  });

  it('creates one run when the server created it but its answer was lost, and the create is retried', async () => {
    const experiment = (await client.getOrCreateExperiment('lost-create')).experiment_id;
    let creates = 0;
    // the first runs/create reaches the server, which creates the run; its answer never comes back
    const proxy = await startFlakyProxy({
      target: server.url, failureRate: 1, modes: ['drop-response'], only: (method, path) => method === 'POST' && path.endsWith('/runs/create') && creates++ === 0,
    });
    try {
      const flaky = new MlflowClient({ trackingUri: proxy.url, retry: { maxRetries: 3, baseDelayMs: 5, maxDelayMs: 20 } });
      const run = await flaky.createRun({ experimentId: experiment, runName: 'once', startTime: Date.now() });
      assert.equal(proxy.stats['drop-response'], 1, JSON.stringify(proxy.stats));
      const runs = (await client.searchRuns({ experimentIds: [experiment] })).runs;
      assert.deepEqual(runs.map((r) => r.info.run_id), [run.info.run_id], 'exactly one run, the one returned');
      const token = run.data.tags.find((t) => t.key === 'transferkit.client_token')?.value ?? '';
      assert.match(token, /^[0-9a-f-]{36}$/);
      assert.equal(runs[0]?.data.tags.find((t) => t.key === 'transferkit.client_token')?.value, token);
    } finally {
      await proxy.close();
    }
  });

  it('reports an unreachable server after its retries', async () => {
    const proxy = await startFlakyProxy({ target: server.url });
    proxy.down();
    try {
      const down = new MlflowClient({ trackingUri: proxy.url, retry: { maxRetries: 2, baseDelayMs: 5, maxDelayMs: 10 } });
      await assert.rejects(down.getRun('0'.repeat(32)), (e: unknown) =>
        e instanceof MlflowUnreachableError && e.retried === 2 && e.endpoint === 'GET /api/2.0/mlflow/runs/get');
    } finally {
      await proxy.close();
    }
  });
});
