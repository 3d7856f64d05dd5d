/** startLocalServer over local stores, with a real `mlflow server`; resolveTrackingStore's mapping. */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { pino } from 'pino';
import { RunArtifacts } from '../../src/mlflow/artifacts.js';
import { MlflowClient } from '../../src/mlflow/client.js';
import { LocalServerError, MlflowNotFoundError } from '../../src/mlflow/errors.js';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { resolveTrackingStore, startLocalServer, type LocalServer } from '../../src/tracking/local-server.js';

const mlflowBin = findMlflow({ env: process.env });

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of live processes whose command line mentions `needle`. */
async function processesMentioning(needle: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(needle)) pids.push(Number(entry));
  }
  return pids;
}

describe('resolveTrackingStore', () => {
  it('maps MLflow 3 local URIs to what mlflow server accepts, and where MLflow puts artifacts', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'transferkit-store-'));
    try {
      assert.deepEqual(resolveTrackingStore(undefined, cwd), {
        kind: 'local', storeUri: `sqlite:///${cwd}/mlflow.db`, artifactsDestination: `${cwd}/mlruns`, defaultArtifactRoot: `${cwd}/mlruns`, fileStore: false,
      });
      assert.deepEqual(resolveTrackingStore('sqlite:///rel/x.db', cwd), {
        kind: 'local', storeUri: `sqlite:///${cwd}/rel/x.db`, artifactsDestination: `${cwd}/mlruns`, defaultArtifactRoot: `${cwd}/mlruns`, fileStore: false,
      });
      assert.deepEqual(resolveTrackingStore('http://10.0.0.1:5000', cwd), { kind: 'server', trackingUri: 'http://10.0.0.1:5000' });
      const file = resolveTrackingStore('file:///data/mlruns', cwd);
      assert.deepEqual(file, { kind: 'local', storeUri: 'file:///data/mlruns', artifactsDestination: '/data/mlruns', defaultArtifactRoot: 'file:///data/mlruns', fileStore: true });
      assert.deepEqual(resolveTrackingStore('./runs', cwd), {
        kind: 'local', storeUri: `file://${cwd}/runs`, artifactsDestination: `${cwd}/runs`, defaultArtifactRoot: `${cwd}/runs`, fileStore: true,
      });
      // an existing ./mlruns file store with an experiment stays the default, as in MLflow
      await mkdir(join(cwd, 'mlruns', '0'), { recursive: true });
      await writeFile(join(cwd, 'mlruns', '0', 'meta.yaml'), 'name: Default\n');
      const existing = resolveTrackingStore('', cwd);
      assert.ok(existing.kind === 'local');
      assert.equal(existing.storeUri, `file://${cwd}/mlruns`);
      assert.equal(existing.artifactsDestination, `${cwd}/mlruns`);
      assert.throws(() => resolveTrackingStore('sqlite:///:memory:', cwd), LocalServerError);
      for (const uri of ['databricks', 'databricks://profile', 'uc:databricks-uc']) {
        assert.throws(() => resolveTrackingStore(uri, cwd), /not supported/, uri);
      }
    } finally {
      await rm(cwd, { recursive: true, force: true });
    }
  });
});

describe('findMlflow', () => {
  it('takes MLFLOW_BIN, then <repo>/.venv, then PATH, and says how to fix a miss', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-find-'));
    try {
      const fake = join(dir, 'mlflow');
      await writeFile(fake, '#!/bin/sh\n', { mode: 0o755 });
      await writeFile(join(dir, 'not-exec'), '', { mode: 0o644 });
      assert.equal(findMlflow({ env: { MLFLOW_BIN: fake }, repoRoot: dir }), fake);
      assert.throws(() => findMlflow({ env: { MLFLOW_BIN: join(dir, 'not-exec') } }), /MLFLOW_BIN is .*not-exec.*not an executable/);
      assert.equal(findMlflow({ env: { PATH: `/nonexistent:${dir}` }, repoRoot: dir }), fake);
      assert.throws(() => findMlflow({ env: { PATH: '/nonexistent' }, repoRoot: dir }), (e: unknown) =>
        e instanceof MlflowNotFoundError && e.message.includes(join(dir, '.venv', 'bin', 'mlflow')) && e.message.includes('bash scripts/setup-python.sh'));
      assert.match(findMlflow({ env: {} }), /\.venv\/bin\/mlflow$/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('startLocalServer', { timeout: 240_000 }, () => {
  let cwd = '';
  before(async () => {
    cwd = await mkdtemp(join(tmpdir(), 'transferkit-local-server-'));
  });
  after(async () => rm(cwd, { recursive: true, force: true }));

  it('serves MLflow’s default store so runs and artifacts land where MLflow puts them, and stops cleanly', async () => {
    // a run created by MLflow's own Python client in the default store, as `mlflow run` does
    const python = join(dirname(mlflowBin), 'python');
    const script = 'import mlflow\nwith mlflow.start_run() as r:\n    mlflow.log_param("from", "python")\nprint(r.info.run_id, r.info.artifact_uri)';
    const { stdout } = await execa(python, ['-c', script], { cwd, env: { MLFLOW_TRACKING_URI: '' } });
    const [pyRunId = '', pyArtifactUri = ''] = stdout.trim().split('\n').pop()?.split(' ') ?? [];
    assert.equal(pyArtifactUri, join(cwd, 'mlruns', '0', pyRunId, 'artifacts'));

    const store = resolveTrackingStore(undefined, cwd);
    assert.equal(store.kind, 'local');
    if (store.kind !== 'local') return;
    const server = await startLocalServer({ ...store, mlflowBin, env: process.env, cwd });
    let runId = '';
    try {
      const client = new MlflowClient({ trackingUri: server.url });
      assert.equal((await client.getRun(pyRunId)).data.params.find((p) => p.key === 'from')?.value, 'python');
      const run = await client.createRun({ experimentId: '0', runName: 'through-local-server', startTime: Date.now() });
      runId = run.info.run_id;
      assert.equal(run.info.artifact_uri, join(cwd, 'mlruns', '0', runId, 'artifacts'));
      await client.logBatch({ runId, metrics: [{ key: 'acc', value: 0.75, timestamp: Date.now(), step: 1 }] });
      for (const id of [runId, pyRunId]) {
        const uri = (await client.getRun(id)).info.artifact_uri;
        const artifacts = new RunArtifacts(client.http, uri, { localArtifactsDestination: server.artifactsDestination });
        await writeFile(join(cwd, 'note.txt'), `hello ${id}`);
        await artifacts.uploadFile(join(cwd, 'note.txt'), 'notes/note.txt');
        assert.equal(await readFile(join(cwd, 'mlruns', '0', id, 'artifacts', 'notes', 'note.txt'), 'utf8'), `hello ${id}`);
      }
      await client.updateRun({ runId, status: 'FINISHED', endTime: Date.now() });
    } finally {
      await server.stop();
    }
    assert.equal(groupAlive(server.pid), false, 'process group still alive after stop()');
    assert.deepEqual(await processesMentioning(cwd), []);
    await server.stop(); // idempotent

    const logged: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => logged.push(line) });
    const again: LocalServer = await startLocalServer({ ...store, mlflowBin, env: process.env, cwd, logger });
    assert.ok(logged.some((line) => line.includes('mlflow server is up')), logged.join(''));
    try {
      const client = new MlflowClient({ trackingUri: again.url });
      const run = await client.getRun(runId);
      assert.equal(run.info.status, 'FINISHED');
      assert.equal(run.data.metrics.find((m) => m.key === 'acc')?.value, 0.75);
      const listed = await new RunArtifacts(client.http, run.info.artifact_uri, { localArtifactsDestination: again.artifactsDestination }).listFiles();
      assert.deepEqual(listed.map((f) => f.path), ['notes/note.txt']);
    } finally {
      await again.stop();
    }
    assert.deepEqual(await processesMentioning(cwd), []);
  });

  it('leaves no timer behind once stopped, so a finished run exits at once', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const server = await startLocalServer({ storeUri: `sqlite:///${join(cwd, 'timers.db')}`, artifactsDestination: join(cwd, 'art'), mlflowBin, env: process.env, cwd });
    await server.stop();
    assert.equal(timers(), before, process.getActiveResourcesInfo().join(', '));
  });

  it('fails with the server’s last output when it exits early', async () => {
    // MLflow creates missing parent directories of a sqlite file, but not below a regular file
    await writeFile(join(cwd, 'a-file'), '');
    const missing = join(cwd, 'a-file', 'x.db');
    await assert.rejects(
      startLocalServer({ storeUri: `sqlite:///${missing}`, artifactsDestination: join(cwd, 'art'), mlflowBin, env: process.env, cwd }),
      (e: unknown) => e instanceof LocalServerError && /exited \(exit code [1-9]/.test(e.message) && /Last output:\n.*\S/s.test(e.message),
    );
    assert.deepEqual(await processesMentioning(missing), []);
  });

  it('kills the server when it does not become healthy in time', async () => {
    const db = join(cwd, 'slow.db');
    await assert.rejects(
      startLocalServer({ storeUri: `sqlite:///${db}`, artifactsDestination: join(cwd, 'art'), mlflowBin, env: process.env, cwd, startTimeoutMs: 300 }),
      (e: unknown) => e instanceof LocalServerError && /did not answer .*\/health with OK within 0\.3 s/.test(e.message),
    );
    assert.deepEqual(await processesMentioning(db), []);
  });

  it('kills a server still starting at once when its signal is aborted', async () => {
    const db = join(cwd, 'aborted.db');
    const controller = new AbortController();
    // abort just after the spawn (which follows this debug line in the same tick)
    const logger = { debug: (_: object, msg?: string) => void (msg === 'starting mlflow server' && setImmediate(() => controller.abort())), info: () => undefined, warn: () => undefined };
    await assert.rejects(
      startLocalServer({ storeUri: `sqlite:///${db}`, artifactsDestination: join(cwd, 'art'), mlflowBin, env: process.env, cwd, logger, signal: controller.signal }),
      (e: unknown) => e instanceof LocalServerError && e.code === 'ERR_MLFLOW_SERVER_ABORTED',
    );
    assert.deepEqual(await processesMentioning(db), []);
  });

  it('refuses a file store unless MLflow’s opt-in is set', async () => {
    await assert.rejects(
      startLocalServer({ storeUri: 'file:///tmp/x', artifactsDestination: '/tmp/x', mlflowBin, env: {} }),
      /MLFLOW_ALLOW_FILE_STORE=true/,
    );
  });
});
