import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DataError } from '../../../src/errors.js';
import { mulberry32 } from '../../../src/pipeline/data/sample.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { applyShift, blur, invert, mnistm, noise, SHIFT_DEFAULTS, SHIFT_KINDS, type ShiftSpec } from '../../../src/pipeline/adapt/shift.js';

/** `count` random h×w images (seeded), labels i % 10. */
function randomSet(count: number, h = 28, w = 28, channels: 1 | 3 = 1, seed = 1): ImageSet {
  const rng = mulberry32(seed);
  return {
    images: Uint8Array.from({ length: count * h * w * channels }, () => Math.floor(rng() * 256)),
    labels: Int32Array.from({ length: count }, (_, i) => i % 10),
    count,
    height: h,
    width: w,
    channels,
  };
}

/** Images that are each one flat value per channel. */
function flatSet(values: readonly (readonly number[])[], h = 4, w = 5): ImageSet {
  const channels = values[0]?.length === 3 ? 3 : 1;
  const images = new Uint8Array(values.length * h * w * channels);
  values.forEach((v, i) => {
    for (let p = 0; p < h * w; p++) for (let c = 0; c < channels; c++) images[(i * h * w + p) * channels + c] = v[c] ?? 0;
  });
  return { images, labels: Int32Array.from(values, (_, i) => i), count: values.length, height: h, width: w, channels };
}

const same = (a: ImageSet, b: ImageSet): boolean => Buffer.from(a.images).equals(Buffer.from(b.images));

describe('domain shifts', () => {
  const set = randomSet(50);

  it('invert maps v to 255 − v and copies labels and shape', () => {
    const out = invert(set);
    assert.deepEqual(Array.from(out.images.subarray(0, 5)), Array.from(set.images.subarray(0, 5), (v) => 255 - v));
    assert.ok(same(invert(out), set));
    assert.deepEqual(out.labels, set.labels);
    assert.notEqual(out.labels, set.labels, 'a copy, not the same array');
    assert.deepEqual([out.count, out.height, out.width, out.channels], [50, 28, 28, 1]);
  });

  it('seeded shifts give the same bytes for the same seed and differ across seeds', () => {
    for (const kind of ['mnistm', 'noise'] as const) {
      const a = applyShift(set, { kind, seed: 7 });
      assert.ok(same(a, applyShift(set, { kind, seed: 7 })), `${kind} is deterministic`);
      assert.ok(!same(a, applyShift(set, { kind, seed: 8 })), `${kind} depends on the seed`);
    }
    assert.ok(same(blur(set), blur(set)));
  });

  it("an image's shift depends on its index and the seed, not on the rest of the set", () => {
    const head = { ...set, images: set.images.subarray(0, 10 * 784), labels: set.labels.subarray(0, 10), count: 10 };
    assert.deepEqual(noise(head, { seed: 3 }).images, noise(set, { seed: 3 }).images.subarray(0, 10 * 784));
  });

  it('noise has the requested std, mean-preserving away from the clip, and clips at 0 and 255', () => {
    const grey = flatSet(Array.from({ length: 200 }, () => [128]), 28, 28);
    const out = noise(grey, { seed: 1 });
    const n = out.images.length;
    const mean = out.images.reduce((s, v) => s + v, 0) / n;
    const std = Math.sqrt(out.images.reduce((s, v) => s + (v - mean) ** 2, 0) / n);
    assert.ok(Math.abs(mean - 128) < 0.5, `mean ${mean}`);
    assert.ok(Math.abs(std - SHIFT_DEFAULTS.noiseStd * 255) < 0.5, `std ${std}`);
    const black = noise(flatSet(Array.from({ length: 50 }, () => [0]), 28, 28), { seed: 1, std: 0.1 });
    const zeros = black.images.filter((v) => v === 0).length / black.images.length;
    assert.ok(Math.abs(zeros - 0.5) < 0.02, `clipped half: ${zeros}`);
    assert.ok(noise(flatSet([[255]]), { seed: 1, std: 1 }).images.some((v) => v === 255));
    assert.ok(same(noise(set, { seed: 1, std: 0 }), set));
  });

  it('blur keeps flat images flat, spreads an impulse symmetrically and grows with sigma', () => {
    assert.ok(same(blur(flatSet([[77], [200]])), flatSet([[77], [200]])));
    const impulse: ImageSet = { images: new Uint8Array(15 * 15), labels: new Int32Array(1), count: 1, height: 15, width: 15, channels: 1 };
    impulse.images[7 * 15 + 7] = 255;
    const at = (s: ImageSet, y: number, x: number): number => s.images[y * 15 + x] ?? -1;
    const b1 = blur(impulse);
    const b2 = blur(impulse, { sigma: 2 });
    assert.ok(at(b1, 7, 7) < 255 && at(b1, 7, 7) > at(b1, 7, 8) && at(b1, 7, 8) > at(b1, 7, 9));
    assert.equal(at(b1, 7, 6), at(b1, 7, 8));
    assert.equal(at(b1, 6, 7), at(b1, 8, 7));
    assert.equal(at(b1, 6, 7), at(b1, 7, 6), 'isotropic');
    const mass = (s: ImageSet): number => s.images.reduce((a, v) => a + v, 0);
    assert.ok(Math.abs(mass(b1) - 255) < 15, `mass ${mass(b1)}`);
    assert.ok(at(b2, 7, 7) < at(b1, 7, 7) && at(b2, 7, 11) > at(b1, 7, 11));
  });

  it('blur works per channel on RGB images', () => {
    const rgb = flatSet([[10, 100, 250]]);
    assert.ok(same(blur(rgb, { sigma: 1.5 }), rgb));
  });

  it('mnistm blends each image with ANOTHER image: |img − patch| per channel (RGB in)', () => {
    const out = mnistm(flatSet([[10, 20, 30], [200, 100, 50]]), { seed: 1 });
    assert.equal(out.channels, 3);
    const first = Array.from(out.images.subarray(0, 3));
    const second = Array.from(out.images.subarray(20 * 3, 20 * 3 + 3));
    assert.deepEqual(first, [190, 80, 20]);
    assert.deepEqual(second, [190, 80, 20]);
  });

  it('mnistm turns grayscale into colour: black becomes a patch colour, channels differ', () => {
    const out = mnistm(set, { seed: 2 });
    assert.deepEqual([out.count, out.height, out.width, out.channels], [50, 28, 28, 3]);
    assert.equal(out.images.length, 50 * 28 * 28 * 3);
    let spread = 0;
    for (let p = 0; p < out.images.length; p += 3) {
      const [r = 0, g = 0, b = 0] = out.images.subarray(p, p + 3);
      spread += Math.max(r, g, b) - Math.min(r, g, b);
    }
    assert.ok(spread / (out.images.length / 3) > 20, `mean channel spread ${spread / (out.images.length / 3)}`);
    // A black image shows the patch itself: a ramp oᶜ + gᶜ·v of the other image, per channel.
    const blackAndFlat = mnistm(flatSet([[0], [0]]), { seed: 2 });
    const colour = Array.from(blackAndFlat.images.subarray(0, 3));
    assert.ok(blackAndFlat.images.subarray(0, 20 * 3).every((v, i) => v === colour[i % 3]), 'flat colour from a flat patch');
  });

  it('applyShift dispatches every kind', () => {
    const specs: ShiftSpec[] = [{ kind: 'invert' }, { kind: 'mnistm', seed: 4 }, { kind: 'blur', sigma: 0.8 }, { kind: 'noise', seed: 4, std: 0.05 }];
    assert.deepEqual(specs.map((s) => s.kind), [...SHIFT_KINDS]);
    assert.ok(same(applyShift(set, specs[0] ?? { kind: 'invert' }), invert(set)));
    assert.ok(same(applyShift(set, { kind: 'mnistm', seed: 4 }), mnistm(set, { seed: 4 })));
    assert.ok(same(applyShift(set, { kind: 'blur', sigma: 0.8 }), blur(set, { sigma: 0.8 })));
    assert.ok(same(applyShift(set, { kind: 'noise', seed: 4, std: 0.05 }), noise(set, { seed: 4, std: 0.05 })));
  });

  it('rejects bad options, a one-image set for mnistm and a buffer of the wrong size', () => {
    assert.throws(() => noise(set, { seed: 1, std: -0.1 }), RangeError);
    assert.throws(() => noise(set, { seed: 1.5 }), RangeError);
    assert.throws(() => blur(set, { sigma: 0 }), RangeError);
    assert.throws(() => mnistm(set, { seed: 1, minCrop: 0.7, maxCrop: 0.5 }), RangeError);
    assert.throws(() => mnistm(flatSet([[1]]), { seed: 1 }), (e: unknown) => e instanceof DataError && /at least 2 images/.test(e.message));
    assert.throws(() => invert({ ...set, count: 51 }), DataError);
  });

  it('shifts 10,000 28×28 images: every kind keeps the count and shape and changes the pixels', () => {
    const big = randomSet(10_000);
    for (const spec of [{ kind: 'invert' }, { kind: 'mnistm', seed: 1 }, { kind: 'blur' }, { kind: 'noise', seed: 1 }] satisfies ShiftSpec[]) {
      const out = applyShift(big, spec);
      assert.equal(out.count, 10_000);
      assert.equal(out.images.length, 10_000 * 28 * 28 * out.channels, spec.kind);
      assert.deepEqual(out.labels, big.labels);
      assert.ok(!same(out, big), `${spec.kind} changes the images`);
    }
  });
});
