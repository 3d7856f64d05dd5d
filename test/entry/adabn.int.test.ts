/**
 * `train --adaptation adabn` end to end through the built CLI (tracking off: the run's tags are in
 * metrics.json), on real offline data: Fashion-MNIST → inverted Fashion-MNIST (Debian's copy), a frozen
 * EfficientNet-Lite0 (random weights, 32 px). Against the same run with adaptation=none: the exported
 * backbone's weights are bit-identical except the BatchNorm moving statistics, which are the target's
 * (each layer's statistics match the moments of its input on target test images through the exported
 * model, which the source-side statistics do not), and the tags say AdaBN ran on how many images.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import pino from 'pino';
import { z } from 'zod';
import { initBackend } from '../../src/pipeline/backend.js';
import { loadDataset } from '../../src/pipeline/data/registry.js';
import { inputsOf } from '../../src/pipeline/model/graph.js';
import { imageBatch } from '../../src/pipeline/model/input.js';
import { childEnv, runCli, tempDir } from '../support/cli.js';

const RUN = {
  dataset: 'fashion-mnist', backbone: 'efficientnet_lite0', weights: 'none', input_size: '32', samples_per_class: '20',
  target_dataset: 'fashion-mnist', target_shift: 'invert', target_unlabeled_samples: '200', adabn_samples: '150',
  max_epochs: '2', batch_size: '32', activation_cache: 'on',
} as const;
const flags = (p: Readonly<Record<string, string>>): string[] => Object.entries(p).flatMap(([k, v]) => [`--${k}`, v]);
const metricsFile = z.object({ tags: z.record(z.string(), z.string()), test: z.object({ count: z.number() }) });
const RAW = { name: 'raw', channels: 'rgb', scale: [1, 1, 1], offset: [0, 0, 0] } as const;

describe('adaptation=adabn end to end', () => {
  let work: string;
  const env = () => childEnv({ TRANSFERKIT_TRACKING: 'off', TRANSFERKIT_CACHE: join(work, 'cache') });

  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    work = await tempDir('adabn');
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('exports the source-only model with target BatchNorm statistics, and tags how many target images AdaBN used', async () => {
    const outs = { none: join(work, 'none'), adabn: join(work, 'adabn') };
    for (const [adaptation, out] of Object.entries(outs)) {
      const res = await runCli(['train', ...flags({ ...RUN, adaptation, output_dir: out })], env());
      assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    }
    const file = metricsFile.parse(JSON.parse(await readFile(join(outs.adabn, 'metrics.json'), 'utf8')));
    assert.match(file.tags['transferkit.adaptation_summary'] ?? '', /^adabn: target test /);
    // the start's tags too, as the MLflow run has them
    assert.equal(file.tags['transferkit.adaptation'], 'adabn');
    assert.equal(file.tags['transferkit.head_solver_reason'], 'auto: weights=none: the probe is for pretrained features');
    assert.equal(file.tags['transferkit.adabn_images'], '150');
    assert.equal(file.tags['transferkit.adabn_source_images'], '150', 'the source side re-estimated on as many source images');
    assert.equal(file.tags['transferkit.adabn_layers'], '49', 'every BatchNorm layer of Lite0');
    assert.equal(file.tags['transferkit.adabn_frozen_layers'], '49');
    assert.equal(file.tags['transferkit.bn_statistics'], 'target');
    assert.equal(file.test.count, 10_000);
    const plain = metricsFile.parse(JSON.parse(await readFile(join(outs.none, 'metrics.json'), 'utf8')));
    assert.equal(plain.tags['transferkit.adabn_images'], undefined);

    const [none, adabn] = await Promise.all([outs.none, outs.adabn].map((dir) => tf.loadLayersModel(`file://${join(dir, 'model', 'model.json')}`)));
    assert.ok(none !== undefined && adabn !== undefined);
    const bns = adabn.layers.filter((l) => l.getClassName() === 'BatchNormalization');
    assert.equal(bns.length, 49);
    const isStat = (name: string) => /moving_(mean|variance)/.test(name);
    // the frozen backbone (every layer up to the pooling; the head trained on other features: AdaBN re-estimates the source side too)
    const backbone = adabn.layers.slice(0, adabn.layers.findIndex((l) => l.name === 'avg_pool'));
    assert.ok(backbone.length > 100);
    for (const layer of backbone) {
      const a: tf.LayerVariable[] = none.getLayer(layer.name).weights;
      const b: tf.LayerVariable[] = layer.weights;
      assert.equal(a.length, b.length);
      b.forEach((w, i) => {
        const same = Buffer.from(w.read().dataSync().buffer).equals(Buffer.from(a[i]?.read().dataSync().buffer ?? new ArrayBuffer(0)));
        assert.equal(same, !isStat(w.originalName), `${w.originalName}: ${isStat(w.originalName) ? 'target statistics differ' : 'frozen: unchanged by AdaBN'}`);
      });
    }

    // the statistics are the target's: each layer's input moments on inverted test images, through the exported (pixels-in) model
    const data = await loadDataset({ name: 'fashion-mnist', cacheDir: join(work, 'data'), fetch: () => Promise.reject(new Error('no network in this test')), logger: pino({ level: 'silent' }) });
    const n = 300;
    const target = { ...data.test, count: n, labels: data.test.labels.subarray(0, n), images: Uint8Array.from(data.test.images.subarray(0, n * 28 * 28), (v) => 255 - v) };
    const x = imageBatch(target, Int32Array.from({ length: n }, (_, i) => i), { inputSize: 32, preprocessing: RAW });
    const ratios = new Map<string, number>();
    for (const layer of bns) {
      const at = inputsOf(layer)[0];
      if (at === undefined) throw new Error(`${layer.name}: no input`);
      const [mean, variance] = tf.tidy(() => {
        const y = tf.model({ inputs: adabn.inputs, outputs: at }).predict(x);
        if (Array.isArray(y)) throw new Error('one output');
        const m = tf.moments(y, y.shape.map((_, i) => i).slice(0, -1));
        return [m.mean, m.variance];
      });
      const distance = (model: tf.LayersModel) => tf.tidy(() => {
        const [, , mm, mv] = model.getLayer(layer.name).getWeights();
        if (mm === undefined || mv === undefined || mean === undefined || variance === undefined) throw new Error('statistics');
        return tf.add(tf.norm(tf.sub(mm, mean)), tf.norm(tf.sub(tf.log(mv), tf.log(variance)))).dataSync()[0] ?? Number.NaN;
      });
      ratios.set(layer.name, distance(adabn) / distance(none));
      tf.dispose([mean, variance]);
    }
    // The first layer sees the shift directly. Deep in a random-weight net, AdaBN's own normalisation
    // brings the residual stream back near the initial 0/1 statistics, so single layers there can be
    // about as near either way (up to ~1 measured); the median layer cannot.
    const shown = [...ratios].map(([k, v]) => `${k}:${v.toFixed(2)}`).join(' ');
    const sorted = [...ratios.values()].sort((a, b) => a - b);
    assert.ok((ratios.get('stem_bn') ?? 1) < 0.05, `stem_bn: AdaBN's statistics are the target's (${shown})`);
    assert.ok((sorted[Math.floor(sorted.length / 2)] ?? 1) < 0.2, `the median layer's statistics are nearer the target's moments than the source-side ones (${shown})`);
    x.dispose();
    none.dispose();
    adabn.dispose();
  });

  it('refuses adabn on a backbone without BatchNorm before any work: exit 2 naming "adaptation" and what fits', async () => {
    const res = await runCli(['train', ...flags({ ...RUN, backbone: 'small-cnn', input_size: '0', adaptation: 'adabn+coral', output_dir: join(work, 'bad') })], env());
    assert.equal(res.exitCode, 2, res.stderr.slice(-2000));
    assert.match(res.stderr, /"adaptation" is "adabn\+coral".*backbone small-cnn has no BatchNorm layer; expected a backbone with BatchNorm \(mobilenet_v2, resnet50, efficientnet_b0, efficientnet_lite0\)/);
    assert.doesNotMatch(res.stderr, /\bepoch \d+\/\d+/);
  });
});
