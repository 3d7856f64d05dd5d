import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunArtifacts, artifactPathSegments, artifactRootSegments } from '../../src/mlflow/artifacts.js';
import { MlflowUnreachableError, MlflowUsageError } from '../../src/mlflow/errors.js';
import { MlflowHttp, type FetchLike } from '../../src/mlflow/http.js';

const TRACKING = 'http://127.0.0.1:5000';

interface Upload {
  method: string;
  path: string;
  query: string;
  bytes: Buffer;
}

/** A fake artifact proxy; `fail(i)` makes call i answer 503 after reading part of the body. */
function fakeProxy(options: { fail?: (i: number) => boolean; list?: unknown } = {}): { http: MlflowHttp; calls: Upload[] } {
  const calls: Upload[] = [];
  const fetch: FetchLike = async (input, init) => {
    const url = new URL(String(input));
    const index = calls.length;
    const call: Upload = { method: init?.method ?? 'GET', path: url.pathname, query: url.search, bytes: Buffer.alloc(0) };
    calls.push(call);
    const body = init?.body;
    if (body instanceof ReadableStream) {
      const reader = body.getReader();
      const chunks: Buffer[] = [];
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        chunks.push(Buffer.from(value));
        if (options.fail?.(index) === true) {
          await reader.cancel();
          break;
        }
      }
      call.bytes = Buffer.concat(chunks);
    }
    if (options.fail?.(index) === true) return new Response('{"error_code":"TEMPORARILY_UNAVAILABLE"}', { status: 503 });
    if (call.method === 'GET' && url.searchParams.has('path')) return new Response(JSON.stringify(options.list ?? {}));
    if (call.method === 'GET') return new Response(Buffer.from(`content of ${url.pathname}`));
    return new Response('{}');
  };
  return { http: new MlflowHttp({ trackingUri: TRACKING, fetch, sleep: async () => {}, random: () => 0 }), calls };
}

describe('artifact path sanitizing', () => {
  it('rejects absolute paths, "..", ".", empty segments, backslashes and NUL', () => {
    const cases: Array<[string, RegExp]> = [
      ['/etc/passwd', /is absolute/],
      ['C:/x', /is absolute/],
      ['../x', /"\.\." segment/],
      ['a/../../b', /"\.\." segment/],
      ['./a', /"\." segment/],
      ['a//b', /empty segment/],
      ['a/', /empty segment/],
      ['a\\b', /backslash/],
      ['a\0b', /NUL/],
      ['a#b', /"#"/],
      ['', /is empty/],
    ];
    for (const [path, message] of cases) assert.throws(() => artifactPathSegments(path), (e: unknown) => e instanceof MlflowUsageError && message.test(e.message), path);
  });

  it('splits good paths into segments', () => {
    assert.deepEqual(artifactPathSegments('model/group 1/w%.bin'), ['model', 'group 1', 'w%.bin']);
    assert.deepEqual(artifactPathSegments('', { allowEmpty: true }), []);
  });
});

describe('artifact root of a run', () => {
  it('maps mlflow-artifacts URIs, with or without the tracking server as authority', () => {
    assert.deepEqual(artifactRootSegments('mlflow-artifacts:/3/abc/artifacts', TRACKING), ['3', 'abc', 'artifacts']);
    assert.deepEqual(artifactRootSegments('mlflow-artifacts://127.0.0.1:5000/3/abc/artifacts', TRACKING), ['3', 'abc', 'artifacts']);
    assert.throws(() => artifactRootSegments('mlflow-artifacts://other:5000/3/abc/artifacts', TRACKING), /names server other:5000/);
  });

  it('refuses other artifact stores with a clear message', () => {
    for (const [uri, store] of [['s3://bucket/1/abc/artifacts', 's3:'], ['gs://b/x', 'gs:'], ['file:///tmp/mlruns/1/abc/artifacts', 'file:'], ['/tmp/mlruns/1/x/artifacts', 'a local directory']] as const) {
      assert.throws(() => artifactRootSegments(uri, TRACKING), (e: unknown) =>
        e instanceof MlflowUsageError && e.message.includes(`is ${uri} (${store})`) && e.message.includes('--serve-artifacts') && e.message.includes('mlflow-artifacts:/'), uri);
    }
  });

  it('maps local artifact URIs inside the local server’s artifacts destination, and only those', () => {
    const options = { localArtifactsDestination: '/work/proj/mlruns' };
    assert.deepEqual(artifactRootSegments('/work/proj/mlruns/0/abc/artifacts', TRACKING, options), ['0', 'abc', 'artifacts']);
    assert.deepEqual(artifactRootSegments('file:///work/proj/mlruns/0/abc/artifacts', TRACKING, options), ['0', 'abc', 'artifacts']);
    assert.throws(() => artifactRootSegments('/work/other/0/abc/artifacts', TRACKING, options), /artifacts destination: \/work\/proj\/mlruns/);
    assert.throws(() => artifactRootSegments('/work/proj/mlruns-x/0/a', TRACKING, options), MlflowUsageError);
  });
});

describe('RunArtifacts over a fake proxy', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-artifacts-unit-'));
    await mkdir(join(dir, 'model', 'sub dir'), { recursive: true });
    await writeFile(join(dir, 'model', 'model.json'), '{"a":1}');
    await writeFile(join(dir, 'model', 'sub dir', 'w[1]+%.bin'), Buffer.from([0, 1, 2, 255]));
    await writeFile(join(dir, 'MLmodel'), 'flavors: {}\n');
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('PUTs a file to the percent-encoded route below the run’s root', async () => {
    const { http, calls } = fakeProxy();
    await new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').uploadFile(join(dir, 'model', 'sub dir', 'w[1]+%.bin'), 'm/sub dir/w[1]+%.bin');
    assert.equal(calls[0]?.method, 'PUT');
    assert.equal(calls[0]?.path, '/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/m/sub%20dir/w%5B1%5D%2B%25.bin');
    assert.deepEqual([...(calls[0]?.bytes ?? [])], [0, 1, 2, 255]);
  });

  it('re-opens the file for every retry, so each attempt sends the whole file', async () => {
    const { http, calls } = fakeProxy({ fail: (i) => i < 2 });
    await new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').uploadFile(join(dir, 'model', 'model.json'), 'model.json');
    assert.equal(calls.length, 3);
    assert.equal(calls[2]?.bytes.toString(), '{"a":1}');
  });

  it('closes the file of an attempt that never read it (connection refused)', async () => {
    const refused: FetchLike = async () => {
      throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    };
    const http = new MlflowHttp({ trackingUri: TRACKING, fetch: refused, sleep: async () => {}, retry: { maxRetries: 3 } });
    const artifacts = new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts');
    const fds = async () => (await readdir('/proc/self/fd')).length;
    const before = await fds();
    for (let i = 0; i < 20; i++) await assert.rejects(artifacts.uploadFile(join(dir, 'MLmodel'), 'MLmodel'), MlflowUnreachableError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok((await fds()) < before + 5, `open fds grew from ${before} to ${await fds()}`);
  });

  it('uploads a directory tree in sorted order under a prefix', async () => {
    const { http, calls } = fakeProxy();
    const uploaded = await new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').uploadDirectory(dir, 'out');
    assert.deepEqual(uploaded, ['out/MLmodel', 'out/model/model.json', 'out/model/sub dir/w[1]+%.bin']);
    assert.equal(calls.length, 3);
    assert.equal(calls[1]?.bytes.toString(), '{"a":1}');
  });

  it('rejects an unsafe target path before any request', async () => {
    const { http, calls } = fakeProxy();
    await assert.rejects(new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').uploadFile(join(dir, 'MLmodel'), '../MLmodel'), MlflowUsageError);
    assert.equal(calls.length, 0);
  });

  it('lists with ?path= and returns paths relative to the run’s root', async () => {
    const list = { files: [{ path: 'a.txt', is_dir: false, file_size: 3 }, { path: 'sub', is_dir: true }] };
    const { http, calls } = fakeProxy({ list });
    const entries = await new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').list('model');
    assert.equal(new URLSearchParams(calls[0]?.query).get('path'), '3/abc/artifacts/model');
    assert.deepEqual(entries, [{ path: 'model/a.txt', isDir: false, fileSize: 3 }, { path: 'model/sub', isDir: true }]);
  });

  it('downloads bytes from the same route', async () => {
    const { http } = fakeProxy();
    const bytes = await new RunArtifacts(http, 'mlflow-artifacts:/3/abc/artifacts').download('a b/c.txt');
    assert.equal(bytes.toString(), 'content of /api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts/a%20b/c.txt');
  });
});
