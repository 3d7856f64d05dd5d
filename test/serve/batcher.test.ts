/** The micro-batching queue, with a controllable fake model: who runs together, who gets which rows. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher } from '../../src/serve/batcher.js';

const VALUES = 2; // values per image
const CLASSES = 2;

/** A model whose rows are [first value, second value] of each image, answering when released. */
function fakeModel() {
  const calls: Array<{ n: number; pixels: number[]; release: () => void; fail: (e: unknown) => void }> = [];
  const predict = (pixels: Float32Array, n: number) =>
    new Promise<Float32Array>((resolve, reject) => {
      calls.push({ n, pixels: Array.from(pixels), release: () => resolve(Float32Array.from(pixels)), fail: reject });
    });
  return { calls, predict };
}

/** A scheduler the test turns by hand. */
function manualSchedule() {
  const waiting: Array<() => void> = [];
  return {
    schedule: (run: () => void) => void waiting.push(run),
    flush: () => waiting.splice(0).forEach((run) => run()),
  };
}

const image = (a: number, b: number) => Float32Array.from([a, b]);
const images = (...pairs: number[]) => Float32Array.from(pairs);
const turn = () => new Promise<void>((r) => setImmediate(r));

describe('Batcher', () => {
  it('runs what waited while the model was busy as one batch, and gives each request its own rows', async () => {
    const model = fakeModel();
    const clock = manualSchedule();
    const batches: number[] = [];
    const b = new Batcher({ predict: model.predict, imageValues: VALUES, classes: CLASSES, maxBatch: 8, schedule: clock.schedule, onBatch: (x) => batches.push(x.requests) });
    const first = b.submit(image(1, 2), 1);
    clock.flush();
    assert.equal(model.calls.length, 1);
    const rest = [b.submit(image(3, 4), 1), b.submit(images(5, 6, 7, 8), 2), b.submit(image(9, 10), 1)];
    clock.flush(); // the model is busy: nothing starts
    assert.equal(model.calls.length, 1);
    assert.equal(b.pending, 4);
    model.calls[0]?.release();
    assert.deepEqual(Array.from(await first), [1, 2]);
    await turn();
    clock.flush();
    assert.equal(model.calls.length, 2);
    assert.equal(model.calls[1]?.n, 4);
    assert.deepEqual(model.calls[1]?.pixels, [3, 4, 5, 6, 7, 8, 9, 10]);
    model.calls[1]?.release();
    const [a, two, c] = await Promise.all(rest);
    assert.deepEqual([Array.from(a ?? []), Array.from(two ?? []), Array.from(c ?? [])], [[3, 4], [5, 6, 7, 8], [9, 10]]);
    assert.deepEqual(batches, [1, 3]);
    await b.idle();
    assert.equal(b.pending, 0);
  });

  it('keeps batches within maxBatch images; a larger request runs alone, in passes', async () => {
    const model = fakeModel();
    const clock = manualSchedule();
    const b = new Batcher({ predict: model.predict, imageValues: VALUES, classes: CLASSES, maxBatch: 3, schedule: clock.schedule });
    const big = b.submit(images(1, 1, 2, 2, 3, 3, 4, 4, 5, 5), 5);
    const x = b.submit(images(6, 6, 7, 7), 2);
    const y = b.submit(images(8, 8, 9, 9), 2);
    clock.flush();
    assert.deepEqual(model.calls.map((call) => call.n), [3]);
    model.calls[0]?.release();
    await turn();
    assert.deepEqual(model.calls.map((call) => call.n), [3, 2], 'the rest of the large request, in a second pass');
    model.calls[1]?.release();
    assert.deepEqual(Array.from(await big), [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    await turn();
    clock.flush();
    assert.deepEqual(model.calls.map((call) => call.n), [3, 2, 2], '2 + 2 images would exceed 3: one request per batch');
    model.calls[2]?.release();
    await turn();
    clock.flush();
    model.calls[3]?.release();
    assert.deepEqual([Array.from(await x), Array.from(await y)], [[6, 6, 7, 7], [8, 8, 9, 9]]);
  });

  it('a failed prediction fails that batch only; the queue goes on', async () => {
    const model = fakeModel();
    const clock = manualSchedule();
    const b = new Batcher({ predict: model.predict, imageValues: VALUES, classes: CLASSES, maxBatch: 8, schedule: clock.schedule });
    const doomed = b.submit(image(1, 2), 1);
    clock.flush();
    const later = b.submit(image(3, 4), 1);
    model.calls[0]?.fail(new Error('out of memory'));
    await assert.rejects(doomed, /out of memory/);
    await turn();
    clock.flush();
    model.calls[1]?.release();
    assert.deepEqual(Array.from(await later), [3, 4]);
  });

  it('refuses pixels that are not n images, and a model answer of the wrong size', async () => {
    const b = new Batcher({ predict: (p) => Promise.resolve(p.slice(1)), imageValues: VALUES, classes: CLASSES, maxBatch: 8 });
    await assert.rejects(b.submit(images(1, 2, 3), 2), /expected 2 image\(s\) of 2 values, got 3/);
    await assert.rejects(b.submit(image(1, 2), 1), /the model gave 1 values for 1 image\(s\) of 2 classes/);
  });

  it('idle() waits for everything queued and running (the drain of a shutdown)', async () => {
    const model = fakeModel();
    const b = new Batcher({ predict: model.predict, imageValues: VALUES, classes: CLASSES, maxBatch: 1 });
    const all = [b.submit(image(1, 1), 1), b.submit(image(2, 2), 1), b.submit(image(3, 3), 1)];
    let idle = false;
    const drained = b.idle().then(() => (idle = true));
    for (let i = 0; i < 3; i++) {
      while (model.calls.length <= i) await turn();
      assert.equal(idle, false);
      model.calls[i]?.release();
    }
    await drained;
    assert.deepEqual((await Promise.all(all)).map((r) => r[0]), [1, 2, 3]);
  });
});
