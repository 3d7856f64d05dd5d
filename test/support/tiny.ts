/**
 * The tests' tiny VGG-style backbone (two blocks: 4+4 and 8 filters) at a small input side, and
 * synthetic 8×8 RGB image sets whose classes are told apart by colour or by brightness.
 */
import type { ImageSet } from '../../src/pipeline/data/types.js';
import { stackSpec } from '../../src/pipeline/model/arch/vgg.js';
import type { BackboneSpec } from '../../src/pipeline/model/spec.js';
import { PREPROCESSING } from '../../src/pipeline/model/spec.js';

export function tinyBackbone(inputSize = 8): { readonly spec: BackboneSpec; readonly input: { readonly inputSize: number; readonly preprocessing: typeof PREPROCESSING.unit } } {
  const spec = stackSpec({
    name: 'tiny', description: 'test backbone', filters: [[4, 4], [8]], defaultInputSize: inputSize, minInputSize: 4,
    preprocessing: PREPROCESSING.unit, weights: {}, flops: { inputSize, gflops: 0 },
  });
  return { spec, input: { inputSize, preprocessing: PREPROCESSING.unit } };
}

const next = (s: number) => (s * 1103515245 + 12345) >>> 0;

/** Three classes by colour channel (image i has class i % 3), with noise 0-99 over a base of 20; `signal` lifts the class's channel. */
export function colourImages(count: number, seed: number, signal = 100): ImageSet {
  const data = new Uint8Array(count * 8 * 8 * 3);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 3);
  let s = seed;
  for (let p = 0; p < data.length; p++) {
    s = next(s);
    data[p] = (p % 3 === labels[Math.floor(p / 192)] ? 20 + signal : 20) + (s % 100);
  }
  return { images: data, labels, count, height: 8, width: 8, channels: 3 };
}

/** Two classes by brightness (bright = class 1, or class 0 with `flip`), with noise 0-79. */
export function brightnessImages(count: number, seed: number, flip = false): ImageSet {
  const size = 8 * 8 * 3;
  const data = new Uint8Array(count * size);
  const labels = new Int32Array(count);
  let s = seed;
  for (let i = 0; i < count; i++) {
    const bright = i % 2;
    labels[i] = flip ? 1 - bright : bright;
    for (let p = 0; p < size; p++) {
      s = next(s);
      data[i * size + p] = (bright === 1 ? 150 : 30) + (s % 80);
    }
  }
  return { images: data, labels, count, height: 8, width: 8, channels: 3 };
}
