/**
 * Model URIs: the accepted forms, and artifact names from a server that would escape the download
 * folder (`..`, absolute, backslashes, outside the requested path) refused before anything is
 * written. The server here is a stub that lists hostile names; the real server is in
 * test/tracking/logged-model.int.test.ts.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { checkRegisteredModelName } from '../../src/mlflow/models.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../src/pipeline/params/train.js';
import { parseModelUri, resolveModelUri, targetPath } from '../../src/predict/resolve-uri.js';

const isModelError = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof Error && 'code' in e && e.code === 'ERR_MODEL', String(e));
  assert.match(e.message, pattern);
  return true;
};

describe('model URIs', () => {
  it('parses folders, runs:/, models:/<name>/<version>, /latest, @alias and logged model ids', () => {
    assert.deepEqual(parseModelUri('out/model'), { kind: 'local', path: 'out/model' });
    assert.deepEqual(parseModelUri('/abs/model'), { kind: 'local', path: '/abs/model' });
    assert.deepEqual(parseModelUri('file:///abs/model'), { kind: 'local', path: '/abs/model' });
    assert.deepEqual(parseModelUri('runs:/abc123/model'), { kind: 'run', runId: 'abc123', path: ['model'] });
    assert.deepEqual(parseModelUri('runs:/abc123/a/b'), { kind: 'run', runId: 'abc123', path: ['a', 'b'] });
    assert.deepEqual(parseModelUri('models:/flowers/3'), { kind: 'version', name: 'flowers', version: '3' });
    assert.deepEqual(parseModelUri('models:/flowers/latest'), { kind: 'version', name: 'flowers', version: 'latest' });
    assert.deepEqual(parseModelUri('models:/flowers@champion'), { kind: 'alias', name: 'flowers', alias: 'champion' });
    assert.deepEqual(parseModelUri('models:/m-0123abcd'), { kind: 'logged', modelId: 'm-0123abcd' });
  });

  it('refuses other schemes, missing versions and escaping run paths, naming the URI', () => {
    assert.throws(() => parseModelUri('s3://bucket/model'), isModelError(/"s3:\/\/bucket\/model" has the scheme "s3:"/));
    assert.throws(() => parseModelUri('models:/flowers'), isModelError(/names no version or alias/));
    assert.throws(() => parseModelUri('models:/flowers/v1'), isModelError(/names no version or alias/));
    assert.throws(() => parseModelUri('runs:/abc/../../etc'), isModelError(/"\.\." segment/));
    assert.throws(() => parseModelUri('runs:/'), isModelError(/has no run id/));
  });

  it('local paths come back as they are, without a server', async () => {
    const deps = { env: {}, fetch: globalThis.fetch, logger: pino({ level: 'silent' }), cacheDir: '/nonexistent' };
    assert.equal(await resolveModelUri('out/model', deps), 'out/model');
  });
});

describe('artifact names from the server', () => {
  it('land inside the folder or are refused', () => {
    assert.equal(targetPath('u', '/tmp/d', 'model', 'model/MLmodel'), '/tmp/d/MLmodel');
    assert.equal(targetPath('u', '/tmp/d', '', 'sub/x.bin'), '/tmp/d/sub/x.bin');
    assert.throws(() => targetPath('u', '/tmp/d', 'model', 'model/../../etc/passwd'), isModelError(/"\.\." segment; .*refusing/));
    assert.throws(() => targetPath('u', '/tmp/d', '', '/etc/passwd'), isModelError(/is absolute/));
    assert.throws(() => targetPath('u', '/tmp/d', '', '..\\..\\x'), isModelError(/backslash/));
    assert.throws(() => targetPath('u', '/tmp/d', 'model', 'other/MLmodel'), isModelError(/is not inside "model"/));
  });

  for (const [what, listing] of [
    ['a file named ".."', [{ path: 'model/MLmodel', is_dir: false }, { path: '..', is_dir: false }]],
    ['a folder named ".."', [{ path: 'model/MLmodel', is_dir: false }, { path: '..', is_dir: true }]],
  ] as const) {
    it(`a listing with ${what} is refused and nothing is written`, async () => {
      const cacheDir = await mkdtemp(join(tmpdir(), 'transferkit-resolve-'));
      const fetchStub: typeof fetch = async (input) => {
        const url = new URL(String(input));
        const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
        if (url.pathname === '/api/2.0/mlflow/runs/get') {
          return json({ run: { info: { run_id: 'r1', experiment_id: '1', status: 'FINISHED', artifact_uri: 'mlflow-artifacts:/1/r1/artifacts', lifecycle_stage: 'active' } } });
        }
        if (url.pathname === '/api/2.0/mlflow-artifacts/artifacts') {
          return json(url.searchParams.get('path') === '1/r1/artifacts/model' ? { files: listing } : { files: [] });
        }
        return new Response('MLmodel bytes', { status: 200 });
      };
      try {
        await assert.rejects(
          resolveModelUri('runs:/r1/model', { env: { MLFLOW_TRACKING_URI: 'http://127.0.0.1:9' }, fetch: fetchStub, logger: pino({ level: 'silent' }), cacheDir }),
          isModelError(/runs:\/r1\/model.*"\.\." segment/),
        );
        const left = await readdir(join(cacheDir, 'mlflow-models')).catch(() => []);
        assert.deepEqual(left, [], 'no folder, complete or partial, is left');
        assert.ok((await readdir(cacheDir)).every((name) => name === 'mlflow-models'), 'nothing beside it either');
      } finally {
        await rm(cacheDir, { recursive: true, force: true });
      }
    });
  }
});

describe('register_model', () => {
  it('accepts MLflow model names and empty; refuses what MLflow refuses, as a parameter error', () => {
    assert.equal(parseParams(trainParamsSchema, {}).register_model, undefined);
    assert.equal(parseParams(trainParamsSchema, { register_model: '' }).register_model, undefined);
    assert.equal(parseParams(trainParamsSchema, { register_model: 'flowers classifier v2' }).register_model, 'flowers classifier v2');
    for (const bad of ['team/model', 'a:b', '..hidden', '.', '50%']) {
      assert.notEqual(checkRegisteredModelName(bad), undefined, bad);
      assert.throws(() => parseParams(trainParamsSchema, { register_model: bad }), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_PARAM' && e.message.includes('register_model'));
    }
  });
});
