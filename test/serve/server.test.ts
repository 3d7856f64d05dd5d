/**
 * The HTTP server with a fake model and decoder (no TensorFlow): routes, MLflow's reply shapes,
 * body limits, /predict-image's checks, and a shutdown that answers what is in flight.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { createScoringServer, type ScoringServer } from '../../src/serve/server.js';

const SIZE = 2;
const CLASSES = ['a', 'b', 'c'];
const img = (v: number) => Array.from({ length: SIZE }, () => Array.from({ length: SIZE }, () => [v, v, v]));

/** Rows: [first value / 1000, 0.5, n / 1000] of each image; `hold` makes it wait for `release()`. */
function fakeModel() {
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  return {
    classNames: CLASSES,
    contract: { shape: [SIZE, SIZE, 3] as const },
    inputSize: SIZE,
    hold() {
      gate = new Promise<void>((r) => (open = r));
    },
    release: () => open(),
    async predict(pixels: Float32Array, n: number) {
      await gate;
      const out = new Float32Array(n * 3);
      for (let i = 0; i < n; i++) out.set([(pixels[i * SIZE * SIZE * 3] ?? 0) / 1000, 0.5, n / 1000], i * 3);
      return out;
    },
  };
}

/** A PNG signature and IHDR of `w`×`h` (all the header check reads), then `rest`. */
function pngHead(w: number, h: number, rest: number[] = []): Uint8Array {
  const b = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(b, 0);
  b.writeUInt32BE(13, 8);
  b.write('IHDR', 12, 'latin1');
  b.writeUInt32BE(w, 16);
  b.writeUInt32BE(h, 20);
  return Buffer.concat([b, Buffer.from(rest)]);
}

describe('scoring server (fake model)', () => {
  const model = fakeModel();
  const decoded: number[] = [];
  let scoring: ScoringServer;
  let url: string;
  const post = (path: string, body: string | Uint8Array, type = 'application/json') => fetch(`${url}${path}`, { method: 'POST', body, headers: { 'content-type': type } });
  const invocations = (body: unknown) => post('/invocations', JSON.stringify(body));

  before(async () => {
    scoring = createScoringServer({
      model,
      decoder: {
        decodeResized(bytes, size) {
          decoded.push(bytes.length);
          if (bytes.at(-1) === 0xee) throw new Error('Invalid TF_Status: 3\nMessage: Invalid PNG data, size 40');
          return new Uint8Array(size * size * 3).fill(42);
        },
      },
      maxBodyBytes: 4096,
      maxPixels: 10_000,
      topK: 2,
      maxBatch: 8,
      version: '9.8.7',
      logger: pino({ level: 'silent' }),
      now: () => 0,
    });
    url = await scoring.listen(0, '127.0.0.1');
  });
  after(() => scoring.shutdown());

  it('GET /ping and /health answer "\\n", /version the version; other methods 405 with Allow', async () => {
    for (const path of ['/ping', '/health']) {
      const res = await fetch(`${url}${path}`);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), '\n');
    }
    assert.equal(await (await fetch(`${url}/version`)).text(), '9.8.7');
    const res = await fetch(`${url}/ping`, { method: 'POST', body: 'x' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    assert.deepEqual(await res.json(), { error_code: 'METHOD_NOT_ALLOWED', message: '/ping takes GET, not POST' });
    assert.equal((await fetch(`${url}/invocations`)).status, 405);
  });

  it('unknown routes are 404 naming the routes', async () => {
    const res = await fetch(`${url}/predict`);
    assert.equal(res.status, 404);
    const body: unknown = await res.json();
    assert.deepEqual(Object.keys(body ?? {}), ['error_code', 'message']);
    assert.match(JSON.stringify(body), /ENDPOINT_NOT_FOUND.*No route GET \/predict; the routes are GET \/ping, GET \/health, GET \/version, POST \/invocations, POST \/predict-image/);
  });

  it('POST /invocations answers {"predictions": rows}, one row per image, in order', async () => {
    const res = await invocations({ inputs: [img(10), img(20)], params: { x: 1 } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json');
    assert.deepEqual(await res.json(), { predictions: [[Math.fround(0.01), 0.5, Math.fround(0.002)], [Math.fround(0.02), 0.5, Math.fround(0.002)]] });
  });

  it('errors in MLflow\'s shapes: 400 JSON with error_code, 415 as text', async () => {
    const shape = await invocations({ inputs: [[[[1, 2, 3]]]] });
    assert.equal(shape.status, 400);
    assert.deepEqual(await shape.json(), {
      error_code: 'INVALID_PARAMETER_VALUE',
      message: 'Shape of input (1, 1, 1, 3) does not match expected shape (-1, 2, 2, 3): "inputs" must be a list of at least one image of 2×2 pixels × 3 channels (RGB), i.e. [n][2][2][3]; got shape (1, 1, 1, 3)',
      error_class: 'SCHEMA_ENFORCEMENT_FAILED',
    });
    const notJson = await post('/invocations', '{"inputs": [');
    assert.equal(notJson.status, 400);
    assert.match(JSON.stringify(await notJson.json()), /"error_code":"BAD_REQUEST","message":"Invalid input. Ensure that input is a valid JSON formatted string/);
    const charset = await post('/invocations', '{}', 'application/json; charset=utf-16');
    assert.equal(charset.status, 415);
    assert.equal(await charset.text(), 'The scoring server only supports UTF-8');
    const csv = await post('/invocations', 'a,b\n1,2\n', 'text/csv');
    assert.equal(csv.status, 415);
    assert.match(await csv.text(), /only supports the following content types: Types: \['application\/json'\]\. Got 'text\/csv'/);
  });

  it('413 for a body over the limit, declared or streamed; the server keeps answering', async () => {
    const declared = await post('/invocations', 'x'.repeat(5000));
    assert.equal(declared.status, 413);
    assert.match(JSON.stringify(await declared.json()), /PAYLOAD_TOO_LARGE.*larger than the limit of 0\.00390625 MB \(4096 bytes, max_body_mb\): Content-Length is 5000/);
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(1000).fill(32));
        c.close();
      },
    });
    const streamed = await fetch(`${url}/invocations`, { method: 'POST', body: chunks, headers: { 'content-type': 'application/json' }, duplex: 'half' });
    assert.equal(streamed.status, 413);
    assert.match(await streamed.text(), /more than 4096 bytes arrived/);
    assert.equal((await fetch(`${url}/ping`)).status, 200);
  });

  it('POST /predict-image: top_k classes of the decoded image; non-images, corrupt and huge images are 400', async () => {
    const ok = await post('/predict-image', Buffer.from(pngHead(4, 4, [1, 2, 3])), 'image/png');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), {
      predictions: [
        { class: 'b', index: 1, probability: 0.5 },
        { class: 'a', index: 0, probability: Math.fround(0.042) },
      ],
    });
    const text = await post('/predict-image', 'hello there, not an image', 'application/octet-stream');
    assert.equal(text.status, 400);
    assert.match(JSON.stringify(await text.json()), /BAD_REQUEST.*The upload \(25 bytes, starting 68 65 6c 6c 6f 20 74 68\) is not a PNG, JPEG, GIF or BMP image/);
    const corrupt = await post('/predict-image', Buffer.from(pngHead(4, 4, [0xee])), 'image/png');
    assert.equal(corrupt.status, 400);
    assert.match(JSON.stringify(await corrupt.json()), /The PNG upload \(34 bytes\) is truncated: decoding failed: Invalid PNG data, size 40/);
    const before = decoded.length;
    const huge = await post('/predict-image', Buffer.from(pngHead(200, 100)), 'image/png');
    assert.equal(huge.status, 400);
    assert.match(JSON.stringify(await huge.json()), /200×100 = 20000 pixels, more than the limit of 10000 \(TRANSFERKIT_MAX_IMAGE_PIXELS\); it was not decoded/);
    assert.equal(decoded.length, before, 'never decoded');
    assert.equal((await post('/predict-image', '', 'image/png')).status, 400);
    const json = await post('/predict-image', Buffer.from(pngHead(4, 4)), 'application/json');
    assert.equal(json.status, 415);
    assert.match(JSON.stringify(await json.json()), /UNSUPPORTED_MEDIA_TYPE.*Content-Type image\/\* .* or application\/octet-stream; got 'application\/json'/);
  });

  it('concurrent requests each get their own rows', async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => invocations({ instances: [img(i + 1)] }).then((r) => r.json())));
    answers.forEach((a, i) => assert.deepEqual(a, { predictions: [[Math.fround((i + 1) / 1000), 0.5, expectN(a)]] }));
  });

  it('shutdown answers the requests in flight, then stops', async () => {
    model.hold();
    const inFlight = Array.from({ length: 3 }, (_, i) => invocations({ inputs: [img(100 + i)] }));
    while (scoring.batcher.pending < 3) await new Promise((r) => setImmediate(r));
    const done = scoring.shutdown();
    model.release();
    const answers = await Promise.all(inFlight.map(async (r) => ({ status: (await r).status, body: await (await r).json() })));
    answers.forEach((a, i) => {
      assert.equal(a.status, 200);
      assert.deepEqual(a.body, { predictions: [[Math.fround((100 + i) / 1000), 0.5, expectN(a.body)]] });
    });
    await done;
    assert.equal(scoring.server.listening, false);
    await assert.rejects(fetch(`${url}/ping`));
  });
});

/** The third value is the batch size the fake model saw, which depends on arrival: read it back. */
function expectN(body: unknown): number {
  const n = JSON.stringify(body).match(/,([0-9.e-]+)\]\]\}$/)?.[1];
  assert.ok(n !== undefined);
  return Number(n);
}
