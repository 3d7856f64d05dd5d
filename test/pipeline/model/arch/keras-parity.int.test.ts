/**
 * The graph backbones against Python Keras, layer for layer: keras.applications builds each one
 * (EfficientNet-Lite0 through Keras's own EfficientNet with the Lite stages), with random BatchNorm
 * statistics and biases, and saves its weights in the legacy layout of the official notop files
 * (test/support/keras-backbones.py). Our backbone loads that file by layer name through
 * readKerasWeights/applyKerasWeights, applies our preprocessing outside the graph, and must give the
 * same last feature map on the same raw pixels, with the same weighted layers in the same order.
 * The pixels are real images: the first test image of three Fashion-MNIST classes from Debian's
 * dataset-fashion-mnist (through the registry, no network), upsampled to the input side and made
 * 3-channel by transferkit's own input path (imageBatch, before preprocessing); the same float32
 * pixels go to Keras. The input side is odd (67) so both branches of Keras's correct_pad are exercised.
 *
 * Tolerance: 1e-4 of the output's scale. The random networks carry their input (the reference BN
 * statistics are calibrated on the images), so they also amplify float32 rounding: Keras's own
 * float32 ResNet50 differs from its float64 by ~3e-5 of the scale at the output.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-node';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { BACKBONES } from '../../../../src/pipeline/model/backbones.js';
import { buildBackbone } from '../../../../src/pipeline/model/build.js';
import { loadDataset } from '../../../../src/pipeline/data/registry.js';
import type { FetchFn } from '../../../../src/pipeline/download.js';
import { imageBatch, preprocess } from '../../../../src/pipeline/model/input.js';
import type { Preprocessing } from '../../../../src/pipeline/model/spec.js';
import { applyKerasWeights, readKerasWeights } from '../../../../src/pipeline/model/keras-weights.js';
import { REPO } from '../../../support/cli.js';
import { runKerasPython } from '../../../support/python.js';

const SIZE = 67;
/** Fashion-MNIST classes whose first test image is used: T-shirt/top, Sneaker, Bag. */
const CLASSES = [0, 7, 8] as const;
const IMAGES = CLASSES.length;
/** No preprocessing: the resized raw 0-255 RGB pixels, as Keras takes them. */
const RAW: Preprocessing = { name: 'raw', channels: 'rgb', scale: [1, 1, 1], offset: [0, 0, 0] };
const NAMES = ['mobilenet_v2', 'resnet50', 'efficientnet_b0', 'efficientnet_lite0'] as const;
/** Max |ours - Keras| relative to the output's scale (max |Keras|, at least 1). */
const TOLERANCE = 1e-4;

const resultSchema = z.object({
  keras: z.string(),
  backbones: z.record(z.string(), z.object({
    layers: z.array(z.tuple([z.string(), z.array(z.array(z.number()))])),
    allLayers: z.array(z.tuple([z.string(), z.string()])),
    outputShape: z.array(z.number()),
  })),
});

/** The first test image of each of CLASSES, 28×28 gray upsampled to SIZE×SIZE×3 as training does, raw pixels. */
async function fashionPixels(cacheDir: string): Promise<Float32Array> {
  const noNetwork: FetchFn = async (url) => {
    throw new Error(`unexpected download of ${url}: install Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)`);
  };
  const data = await loadDataset({ name: 'fashion-mnist', cacheDir, fetch: noNetwork, logger: { info: () => undefined, warn: () => undefined } });
  const labels = [...data.test.labels];
  const indices = CLASSES.map((c) => labels.indexOf(c));
  assert.ok(indices.every((i) => i >= 0), `a test image of each class ${CLASSES.join(', ')}`);
  const x = imageBatch(data.test, indices, { inputSize: SIZE, preprocessing: RAW });
  try {
    assert.deepEqual(x.shape, [IMAGES, SIZE, SIZE, 3]);
    return Float32Array.from(x.dataSync());
  } finally {
    x.dispose();
  }
}

async function readF32(path: string): Promise<Float32Array> {
  const buf = await readFile(path);
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

describe('graph backbones match keras.applications (weights loaded by layer name from a legacy notop h5)', () => {
  let dir = '';
  let result: z.infer<typeof resultSchema> | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-parity-'));
    const imagesFile = join(dir, 'images.f32');
    const pixels = await fashionPixels(dir);
    await writeFile(imagesFile, Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength));
    const script = await readFile(join(REPO, 'test', 'support', 'keras-backbones.py'), 'utf8');
    const stdout = await runKerasPython(script, { outDir: dir, imagesFile, size: SIZE, images: IMAGES, seed: 11, backbones: NAMES });
    result = resultSchema.parse(JSON.parse(stdout.trim().split('\n').at(-1) ?? ''));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const name of NAMES) {
    it(name, async (t) => {
      const ref = result?.backbones[name];
      assert.ok(ref !== undefined, 'the Keras script ran');
      const spec = BACKBONES[name];
      const model = buildBackbone(spec, SIZE, 3);
      try {
        const weighted = model.layers.filter((l) => l.weights.length > 0);
        assert.deepEqual(
          weighted.map((l) => [l.name, l.weights.map((w) => [...w.shape])]),
          ref.layers,
          'the same weighted layers, in the same order, with the same weight shapes',
        );
        // Every layer in Keras's order with Keras's class (ours serialize as Keras's: FreezableBatchNorm as
        // BatchNormalization, StepDropout as Dropout). Lite0 uses 'same' where Keras pads explicitly.
        const keras = name === 'efficientnet_lite0' ? ref.allLayers.filter(([, cls]) => cls !== 'ZeroPadding2D') : ref.allLayers;
        const ours = model.layers.filter((l) => l.getClassName() !== 'InputLayer').map((l) => [l.name, l.getClassName()]);
        assert.deepEqual(ours, keras, 'every layer, in the same order, of the same class');
        const file = join(dir, `${name}.h5`);
        applyKerasWeights(model, await readKerasWeights(file), { layers: weighted.map((l) => l.name), file, backbone: name });

        const pixels = await readF32(join(dir, 'images.f32'));
        const expected = await readF32(join(dir, `${name}.out.f32`));
        const actual = tf.tidy(() => {
          const x = preprocess(tf.tensor4d(pixels, [IMAGES, SIZE, SIZE, 3]), spec.preprocessing);
          const y = model.predict(x);
          if (Array.isArray(y)) throw new Error('one output expected');
          assert.deepEqual(y.shape, ref.outputShape);
          return y.dataSync();
        });
        assert.equal(actual.length, expected.length);
        let diff = 0;
        let scale = 0;
        let spread = 0; // how much the output changes from image 0 to image 1
        const perImage = expected.length / IMAGES;
        expected.forEach((v, i) => {
          diff = Math.max(diff, Math.abs(v - (actual[i] ?? Number.NaN)));
          scale = Math.max(scale, Math.abs(v));
          if (i < perImage) spread = Math.max(spread, Math.abs(v - (expected[i + perImage] ?? Number.NaN)));
        });
        t.diagnostic(`${name}: max |diff| ${diff.toExponential(2)}, output scale ${scale.toPrecision(3)}, between images ${spread.toPrecision(3)} (Keras ${result?.keras ?? '?'})`);
        // A random deep network can forget its input; then any preprocessing would pass.
        assert.ok(spread > 0.1 * scale, `the reference output depends on the image (spread ${spread}, scale ${scale})`);
        assert.ok(diff <= TOLERANCE * Math.max(1, scale), `max |diff| ${diff} over ${TOLERANCE} × scale ${scale}`);
      } finally {
        model.dispose();
      }
    });
  }
});
