/** `transferkit serve` flags and model URIs: refused with exit 2 and one line, before any model loads. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { serveCommand } from '../../src/entry/serve.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { serveParamsSchema } from '../../src/serve/params.js';
import { modelFolder } from '../../src/serve/run-serve.js';

async function serve(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const out = { write: (t: string) => (stderr += t) };
  const code = await serveCommand(argv, {
    env: { HOME: '/nonexistent-home' },
    cwd: '/work',
    fetch: globalThis.fetch,
    now: () => 0,
    stdout: { write: () => true },
    stderr: out,
    logger: pino({ level: 'silent' }),
  });
  return { code, stderr };
}

describe('serve parameters', () => {
  it('has the defaults of mlflow models serve where they overlap', () => {
    assert.deepEqual(parseParams(serveParamsSchema, { model: 'm' }), { model: 'm', host: '127.0.0.1', port: 5000, max_body_mb: 20, top_k: 5, max_batch: 32 });
    assert.deepEqual(parseParams(serveParamsSchema, { model: 'm', port: '0', max_body_mb: '0.5', top_k: '1', host: '0.0.0.0' }), { model: 'm', host: '0.0.0.0', port: 0, max_body_mb: 0.5, top_k: 1, max_batch: 32 });
  });

  it('refuses bad flags with exit 2 and one line naming the parameter, the value and what is accepted', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--model', 'm', '--port', '70000'], /^transferkit: Parameter "port" must be a whole number from 0 to 65535, got "70000" \(string\)\n$/],
      [['--model', 'm', '--max_body_mb', '0'], /^transferkit: Parameter "max_body_mb" must be a number greater than 0 up to 4096, got "0" \(string\)\n$/],
      [['--model', 'm', '--top_k', 'all'], /^transferkit: Parameter "top_k" must be a whole number from 1 to 1000/],
      [['--model', 'm', '--workers', '4'], /^transferkit: Unknown parameter "workers"; expected one of: model, host, port, max_body_mb, top_k, max_batch\n$/],
      [['--port', '5000'], /^transferkit: Parameter "model" is required: --model followed by a model folder written by transferkit/],
      [['--model'], /^transferkit: Parameter "model" needs a value: --model VALUE\n$/],
      [['m'], /^transferkit: Unexpected argument "m"/],
    ];
    for (const [argv, pattern] of cases) {
      const { code, stderr } = await serve(argv);
      assert.equal(code, 2, argv.join(' '));
      assert.match(stderr, pattern);
      assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('resolves MLflow model URIs through the tracking server, refusing them with ERR_MODEL without one', async () => {
    const { code, stderr } = await serve(['--model', 'runs:/0123abcd/model']);
    assert.equal(code, 2);
    assert.match(stderr, /^transferkit: model URI runs:\/0123abcd\/model is looked up on an MLflow tracking server, but MLFLOW_TRACKING_URI is not set/);
    assert.doesNotMatch(stderr, /\n\s+at /);
    await assert.rejects(modelFolder('models:/flowers/3', { cwd: '/' }), (e: unknown) => e instanceof Error && 'code' in e && e.code === 'ERR_MODEL' && /is an MLflow model URI, which this serve cannot resolve/.test(e.message));
    await assert.rejects(modelFolder('s3://bucket/model', { cwd: '/' }), /s3:\/\/ model URIs are not supported/);
  });

  it('resolves a folder against the working directory, file:// URIs, and MLflow URIs through the hook', async () => {
    assert.equal(await modelFolder('out/model', { cwd: '/work' }), '/work/out/model');
    assert.equal(await modelFolder('file:///data/model', { cwd: '/work' }), '/data/model');
    assert.equal(await modelFolder('models:/flowers/3', { cwd: '/', resolveModel: (uri) => Promise.resolve(`/cache/${uri.slice(8)}`) }), '/cache/flowers/3');
  });
});
