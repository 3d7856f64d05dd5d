/**
 * `transferkit predict` through the built CLI on a real exported model: image files and folders
 * (a non-image and a truncated PNG skipped, counted and named), a registry dataset with its labels,
 * CSV and JSON; probabilities equal to the loaded model's on the same decoded pixels and to Python
 * Keras's load_model('model.h5').predict on raw pixels. Bad input: clear errors, exit 2, no stack.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { execa } from 'execa';
import { z } from 'zod';
import { initBackend } from '../../src/pipeline/backend.js';
import { exportModelDir } from '../../src/pipeline/export/model-dir.js';
import { modelMeta } from '../../src/pipeline/export/meta.js';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { buildClassifier } from '../../src/pipeline/model/build.js';
import { loadClassifier } from '../../src/predict/classifier.js';
import { CLI, childEnv, mlflowRun, runCli, tempDir } from '../support/cli.js';
import { artifactPaths, clientFor, metricsOf, onlyRun } from '../support/mlflow-checks.js';
import { startTestServer } from '../support/mlflow-server.js';
import { png, pixels, put, truncate, type Rgb } from '../support/make-images.js';
import { venvPython } from '../support/python.js';

const SIZE = 16;
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover'];
const COLOURS: readonly Rgb[] = [[250, 30, 30], [20, 200, 40], [30, 40, 220]];
const env = childEnv({ TRANSFERKIT_TRACKING: 'off' });

const jsonOut = z.object({
  predictions: z.array(z.object({ input: z.string(), true_class: z.string().optional(), top: z.array(z.object({ class: z.string(), probability: z.number() })) })),
  skipped: z.array(z.object({ input: z.string(), reason: z.string(), detail: z.string() })),
});

describe('transferkit predict', () => {
  let work: string;
  let modelDir: string;
  before(async () => {
    assert.equal((await initBackend('tensorflow')).name, 'tensorflow');
    work = await tempDir('predict');
    modelDir = join(work, 'model');
    const spec = BACKBONES['small-cnn'];
    const model = buildClassifier(spec, SIZE, { numClasses: 3, denseUnits: 8, dropout: 0.5, seed: 3 });
    await exportModelDir(model, modelDir, modelMeta({ spec, inputSize: SIZE, dataset: 'fashion-mnist', classIds: [0, 1, 2], classNames: CLASSES, baseWeights: 'none' }), spec.preprocessing);
    model.dispose();
    for (const [i, c] of COLOURS.entries()) await put(join(work, 'photos', `img${i}.png`), await png(SIZE, SIZE, (y, x) => [(c[0] + x * 3) % 256, (c[1] + y * 5) % 256, c[2]]));
    await put(join(work, 'photos', 'nested', 'big.png'), await png(40, 24, [128, 64, 200]));
    await put(join(work, 'photos', 'notes.txt'), 'not an image\n');
    await put(join(work, 'photos', 'cut.png'), truncate(await png(SIZE, SIZE, [1, 2, 3]), 0.6));
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('classifies a folder: JSON with top-k, skipped files named by reason, same probabilities as the loaded model', async () => {
    const out = join(work, 'p.json');
    const res = await runCli(['predict', '--model', modelDir, '--format', 'json', '--top_k', '2', '--output', out, join(work, 'photos')], env);
    assert.equal(res.exitCode, 0, res.stderr);
    assert.match(res.stdout, /predicted 4 image\(s\).*skipped 2 \(/s);
    const got = jsonOut.parse(JSON.parse(await readFile(out, 'utf8')));
    assert.deepEqual(got.predictions.map((p) => p.input.slice(work.length)), ['/photos/img0.png', '/photos/img1.png', '/photos/img2.png', '/photos/nested/big.png']);
    assert.deepEqual(got.skipped.map((s) => [s.input.slice(work.length), s.reason]).sort(), [['/photos/cut.png', 'truncated'], ['/photos/notes.txt', 'ignored']]);
    assert.ok(got.predictions.every((p) => p.top.length === 2 && (p.top[0]?.probability ?? 0) >= (p.top[1]?.probability ?? 1)));
    // The same pixels through the loaded model directly (img0 is already at the model's size).
    const c = await loadClassifier(modelDir);
    const raw = Float32Array.from(pixels(SIZE, SIZE, (y, x) => [(250 + x * 3) % 256, (30 + y * 5) % 256, 30]));
    const direct = await c.predict(raw, 1);
    c.dispose();
    const best = Math.max(...direct);
    assert.equal(got.predictions[0]?.top[0]?.class, CLASSES[direct.indexOf(best)]);
    assert.ok(Math.abs((got.predictions[0]?.top[0]?.probability ?? 0) - best) < 1e-6);
  });

  it("agrees with Python Keras's load_model('model.h5').predict on raw pixels (1e-4)", async () => {
    const out = join(work, 'p.csv');
    const res = await runCli(['predict', '--model', modelDir, '--output', out, '--top_k', '3', join(work, 'photos', 'img1.png'), join(work, 'photos', 'img2.png')], env);
    assert.equal(res.exitCode, 0, res.stderr);
    const [header, ...rows] = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(header, 'input,class_1,probability_1,class_2,probability_2,class_3,probability_3');
    const input = join(work, 'x.f32');
    const x = new Float32Array([...pixels(SIZE, SIZE, (y, xx) => [(20 + xx * 3) % 256, (200 + y * 5) % 256, 40]), ...pixels(SIZE, SIZE, (y, xx) => [(30 + xx * 3) % 256, (40 + y * 5) % 256, 220])]);
    await writeFile(input, Buffer.from(x.buffer));
    const script = `
import sys, json, numpy as np, keras
m = keras.models.load_model(sys.argv[1])
x = np.fromfile(sys.argv[2], dtype=np.float32).reshape(2, ${SIZE}, ${SIZE}, 3)
print(json.dumps(m.predict(x, verbose=0).tolist()))`;
    const py = await execa(venvPython(), ['-c', script, join(modelDir, 'model.h5'), input], { env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' } });
    const keras = z.array(z.array(z.number())).parse(JSON.parse(py.stdout.trim().split('\n').at(-1) ?? '[]'));
    rows.forEach((row, i) => {
      const cells = row.split(',');
      for (let k = 0; k < 3; k++) {
        const cls = cells[1 + 2 * k] ?? '';
        const p = Number(cells[2 + 2 * k]);
        assert.ok(Math.abs(p - (keras[i]?.[CLASSES.indexOf(cls)] ?? Number.NaN)) < 1e-4, `${cls}: ${p} vs Keras`);
      }
    });
  });

  it('reads a registry dataset (Debian Fashion-MNIST test split) with its labels and reports the accuracy', async () => {
    const out = join(work, 'fm.csv');
    const res = await runCli(['predict', '--model', modelDir, '--classes', '0-2', '--output', out, '--data_dir', '/usr/share/datasets/fashion-mnist', 'dataset:fashion-mnist'], env);
    assert.equal(res.exitCode, 0, res.stderr);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 3001, '1,000 test images per class, 3 classes');
    assert.match(lines[1] ?? '', /^dataset:fashion-mnist\/test\/\d+,(T-shirt\/top|Trouser|Pullover),/);
    const correct = lines.slice(1).filter((l) => l.split(',')[1] === l.split(',')[2]).length;
    assert.match(res.stdout, new RegExp(`top-1 accuracy ${(100 * correct / 3000).toFixed(2)}%`));
  });

  it('bad input: a missing model folder, a corrupt weights file, no inputs, a missing input: exit 2, named, no stack', async () => {
    const missing = await runCli(['predict', '--model', join(work, 'nope'), join(work, 'photos')], env);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /ERR_MODEL|model folder .*nope does not exist/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const broken = join(work, 'broken-model');
    await execa('cp', ['-r', modelDir, broken]);
    await writeFile(join(broken, 'weights.bin'), Buffer.from('short'));
    const corrupt = await runCli(['predict', '--model', broken, join(work, 'photos')], env);
    assert.equal(corrupt.exitCode, 2);
    assert.match(corrupt.stderr, /cannot load .*model\.json/);
    const none = await runCli(['predict', '--model', modelDir], env);
    assert.equal(none.exitCode, 2);
    assert.match(none.stderr, /predict needs inputs/);
    const noInput = await runCli(['predict', '--model', modelDir, join(work, 'absent.png')], env);
    assert.equal(noInput.exitCode, 2);
    assert.match(noInput.stderr, /input .*absent\.png does not exist/);
    const uri = await runCli(['predict', '--model', 'models:/nothing/1', join(work, 'photos')], env);
    assert.equal(uri.exitCode, 2);
    assert.match(uri.stderr, /models:\/nothing\/1/);
  });

  it('stops between batches on Ctrl-C or when its reader goes away (a closed pipe): exit 130, no predictions file', async () => {
    const FASHION = ['--data_dir', '/usr/share/datasets/fashion-mnist', '--batch_size', '4', 'dataset:fashion-mnist'];
    for (const how of ['SIGINT', 'closed pipe'] as const) {
      const out = join(work, `stopped-${how.replace(' ', '-')}.csv`);
      const child = execa('node', [CLI, 'predict', '--model', modelDir, '--output', out, ...FASHION], { env, reject: false, stdin: 'ignore' });
      // the first progress line: predicting has begun (10,000 images, 2,500 batches: far from done)
      await new Promise<void>((resolve) => child.stderr?.on('data', (chunk: Buffer) => chunk.toString().includes('predicted') && resolve()));
      if (how === 'SIGINT') child.kill('SIGINT');
      else child.stderr?.destroy();
      const res = await child;
      assert.equal(res.exitCode, 130, `${how}: ${String(res.stderr).slice(-2000)}`);
      await assert.rejects(readFile(out), { code: 'ENOENT' }, `${how}: no predictions file`);
    }
  });

  it('runs as the MLproject entry point predict under mlflow run: the run FINISHES with the counts as metrics and the predictions file as an artifact', async () => {
    const server = await startTestServer();
    try {
      const out = join(work, 'mlflow-predictions.csv');
      const res = await mlflowRun({ model: modelDir, input: join(work, 'photos'), output: out }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { entry: 'predict', experiment: 'predict' });
      assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
      const client = clientFor(server.url);
      const run = await onlyRun(client, 'predict');
      assert.equal(run.info.status, 'FINISHED');
      assert.deepEqual([metricsOf(run)['predicted'], metricsOf(run)['skipped']], [4, 2]);
      assert.ok((await artifactPaths(client, run)).includes('predictions/mlflow-predictions.csv'));
      assert.equal((await readFile(out, 'utf8')).trim().split('\n').length, 5, 'header and four images');
    } finally {
      await server.stop();
    }
  });
});
