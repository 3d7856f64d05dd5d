/**
 * `transferkit serve` as users run it (the real CLI, a real model folder made by the real export):
 * MLflow's routes and body forms give the probabilities loadClassifier(...).predict gives; uploads
 * decode as training does; errors, limits and concurrency; SIGTERM answers what is in flight, exit 0.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import { withNativeDecoder } from '../../src/pipeline/data/image-decode.js';
import { loadClassifier, type Classifier } from '../../src/predict/classifier.js';
import { VERSION } from '../../src/version.js';
import { childEnv, REPO } from '../support/cli.js';
import { png } from '../support/make-images.js';
import { halfSent, logLines, type Json } from './child-io.js';
import { CLASS_NAMES, SIZE, flatten, makeModelDir, nestedPixels } from './fixture.js';

const LIMIT_MB = 1;

function assertClose(actual: unknown, expected: Float32Array, n: number, what: string) {
  assert.ok(Array.isArray(actual) && actual.length === n, `${what}: ${n} rows`);
  const got = actual.flat();
  assert.equal(got.length, expected.length, what);
  got.forEach((v, i) => assert.ok(typeof v === 'number' && Math.abs(v - (expected[i] ?? Number.NaN)) <= 1e-6, `${what}[${i}]: ${String(v)} vs ${expected[i]}`));
}

const predictionsOf = (body: unknown): unknown => (typeof body === 'object' && body !== null && 'predictions' in body ? body.predictions : undefined);

/** The real CLI, `serve` on a free port, logging everything. */
const startServe = (modelDir: string) =>
  execa('node', ['--import', 'tsx', 'src/entry/cli.ts', 'serve', '--model', modelDir, '--port', '0', '--max_body_mb', String(LIMIT_MB), '--max_batch', '8'], {
    cwd: REPO,
    env: childEnv({ TRANSFERKIT_LOG_LEVEL: 'trace', TRANSFERKIT_LOG_FORMAT: 'json' }),
    extendEnv: false,
    reject: false,
  });

describe('transferkit serve (real CLI, real model)', { timeout: 300_000 }, () => {
  let root: string;
  let classifier: Classifier;
  let child: ReturnType<typeof startServe>;
  let log: ReturnType<typeof logLines>;
  let url: string;
  let port: number;
  const post = async (path: string, body: string | Uint8Array, type = 'application/json'): Promise<Json> => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const reference = (images: number[][][][]) => classifier.predict(flatten(images), images.length);

  before(async () => {
    let modelDir: string;
    ({ root, modelDir } = await makeModelDir());
    classifier = await loadClassifier(modelDir);
    child = startServe(modelDir);
    log = logLines(child);
    const stdout = child.stdout;
    if (stdout === null) throw new Error('no stdout');
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: stdout }).on('line', (l) => l.startsWith('serving ') && resolve(l));
      void child.then((r) => reject(new Error(`serve exited ${String(r.exitCode)}: ${String(r.stderr).slice(-2000)}`)));
    });
    const match = /^serving (.+) at (http:\/\/127\.0\.0\.1:(\d+))$/.exec(line);
    assert.ok(match !== null, line);
    assert.equal(match[1], modelDir);
    url = match[2] ?? '';
    port = Number(match[3]);
  });
  after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    classifier.dispose();
    await rm(root, { recursive: true, force: true });
  });

  it('GET /ping, /health and /version', async () => {
    for (const path of ['/ping', '/health']) assert.equal(await (await fetch(`${url}${path}`)).text(), '\n');
    assert.equal(await (await fetch(`${url}/version`)).text(), VERSION);
    assert.ok(log.lines.some((l) => l['level'] === 30 && l['url'] === url), 'a startup line with the URL at info');
  });

  it('inputs, instances, dataframe_split and dataframe_records give the probabilities loadClassifier gives', async () => {
    const images = nestedPixels(3, 11);
    images[1] = images[1]?.map((row) => row.map((px) => px.map((v) => v + 0.25))) ?? [];
    const expected = await reference(images);
    const flat = images.map((im) => im.flat(2));
    const bodies = {
      inputs: { inputs: images },
      instances: { instances: images, params: { ignored: true } },
      dataframe_split: { dataframe_split: { columns: ['image'], data: flat.map((f) => [f]) } },
      dataframe_records: { dataframe_records: flat.map((f) => ({ image: f })) },
    };
    for (const [name, body] of Object.entries(bodies)) {
      const res = await post('/invocations', JSON.stringify(body));
      assert.equal(res.status, 200, `${name}: ${JSON.stringify(res.body).slice(0, 300)}`);
      assertClose(predictionsOf(res.body), expected, 3, name);
    }
  });

  it('POST /predict-image decodes and resizes like training: the top class of the decoded pixels', async () => {
    const image = await png(37, 29, (y, x) => [(y * 7) % 256, (x * 13) % 256, ((x + y) * 5) % 256]);
    const pixels = await withNativeDecoder(async (d) => Float32Array.from(d.decodeResized(image, SIZE)));
    const expected = await classifier.predict(pixels, 1);
    const res = await post('/predict-image', image, 'image/png');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const top = predictionsOf(res.body);
    assert.ok(Array.isArray(top) && top.length === CLASS_NAMES.length, 'top_k (5) capped at the 3 classes');
    const best = Array.from(expected).indexOf(Math.max(...expected));
    assert.deepEqual({ ...top[0], probability: 0 }, { class: CLASS_NAMES[best], index: best, probability: 0 });
    assert.ok(Math.abs(Number(top[0].probability) - (expected[best] ?? 0)) <= 1e-6);
  });

  it('400 for a wrong shape, non-JSON, a non-image and a corrupt image; the server goes on answering', async () => {
    const small = await post('/invocations', JSON.stringify({ inputs: [[[[1, 2, 3]]]] }));
    assert.equal(small.status, 400);
    assert.match(JSON.stringify(small.body), /"error_code":"INVALID_PARAMETER_VALUE","message":"Shape of input \(1, 1, 1, 3\) does not match expected shape \(-1, 16, 16, 3\)/);
    const notJson = await post('/invocations', 'inputs=1,2,3');
    assert.equal(notJson.status, 400);
    assert.match(JSON.stringify(notJson.body), /"error_code":"BAD_REQUEST","message":"Invalid input. Ensure that input is a valid JSON formatted string/);
    const text = await post('/predict-image', 'GIF? no, just text', 'application/octet-stream');
    assert.equal(text.status, 400);
    assert.match(JSON.stringify(text.body), /is not a PNG, JPEG, GIF or BMP image/);
    const image = await png(20, 20, [200, 10, 10]);
    const cut = await post('/predict-image', image.subarray(0, Math.floor(image.length / 2)), 'image/png');
    assert.equal(cut.status, 400);
    assert.match(JSON.stringify(cut.body), /The PNG upload \(\d+ bytes\) is truncated: decoding failed/);
    assert.equal((await fetch(`${url}/ping`)).status, 200);
    const images = nestedPixels(1, 5);
    const ok = await post('/invocations', JSON.stringify({ inputs: images }));
    assertClose(predictionsOf(ok.body), await reference(images), 1, 'after the errors');
  });

  it('413 for a body over --max_body_mb', async () => {
    const res = await post('/invocations', 'x'.repeat(LIMIT_MB * 2 ** 20 + 1));
    assert.equal(res.status, 413);
    assert.match(JSON.stringify(res.body), /"error_code":"PAYLOAD_TOO_LARGE".*larger than the limit of 1 MB \(1048576 bytes, max_body_mb\)/);
    assert.equal((await fetch(`${url}/ping`)).status, 200);
  });

  it('20 concurrent requests are all answered, each with its own rows', async () => {
    const batchedImages = () => log.lines.reduce((sum, l) => sum + (typeof l['msg'] === 'string' && l['msg'].startsWith('batch of ') ? Number(l['images']) : 0), 0);
    const before = batchedImages();
    const sets = Array.from({ length: 20 }, (_, i) => nestedPixels(1 + (i % 3), 100 + i));
    const answers = await Promise.all(sets.map((images) => post('/invocations', JSON.stringify({ instances: images }))));
    const sent = sets.reduce((sum, images) => sum + images.length, 0);
    await log.waitFor(() => batchedImages() - before >= sent);
    assert.equal(batchedImages() - before, sent, 'every image went through the model once');
    for (const [i, images] of sets.entries()) {
      assert.equal(answers[i]?.status, 200);
      assertClose(predictionsOf(answers[i]?.body), await reference(images), images.length, `request ${i}`);
    }
  });

  it('SIGTERM: stops accepting, answers the requests in flight, exits 0', async () => {
    const started = () => log.lines.filter((l) => l['msg'] === 'request started' && l['path'] === '/invocations').length;
    const before = started();
    const sets = Array.from({ length: 4 }, (_, i) => nestedPixels(2, 500 + i));
    const open = sets.map((images) => halfSent(port, JSON.stringify({ inputs: images })));
    await log.waitFor(() => started() >= before + open.length);
    child.kill('SIGTERM');
    await log.waitFor((l) => typeof l['msg'] === 'string' && l['msg'].startsWith('shutting down'));
    await assert.rejects(fetch(`${url}/ping`), 'no new connections');
    for (const o of open) o.finish();
    for (const [i, o] of open.entries()) {
      const res = await o.response;
      assert.equal(res.status, 200);
      assertClose(predictionsOf(res.body), await reference(sets[i] ?? []), 2, `in flight ${i}`);
    }
    const result = await child;
    assert.equal(result.exitCode, 0, String(result.stderr).slice(-2000));
    assert.ok(log.lines.some((l) => l['msg'] === 'stopped: every request was answered'));
  });
});
