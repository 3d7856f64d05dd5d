/**
 * The cats-and-dogs scenario end to end: `transferkit train --dataset folder:PATH` on a tiny folder
 * of class subfolders (with a README, a corrupt, a truncated and an oversized file among the images),
 * tracked to a real MLflow server: the run FINISHES and its tags show what was skipped.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { childEnv, runCli, tempDir } from '../support/cli.js';
import { garble, jpeg, png, pngHeaderOnly, put, truncate, type Rgb } from '../support/make-images.js';
import { clientFor, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

const CLASSES: Readonly<Record<string, Rgb>> = { cat: [230, 60, 40], dog: [40, 190, 70], fox: [60, 70, 220] };

const metricsFile = z.object({
  test: z.object({ accuracy: z.number(), count: z.number(), perClassAccuracy: z.array(z.number().nullable()) }),
  classNames: z.array(z.string()),
});

describe('folder:PATH through the CLI with MLflow', () => {
  let server: TestServer;
  let work: string;
  let data: string;

  before(async () => {
    server = await startTestServer();
    work = await tempDir('folder-int');
    data = join(work, 'pets');
    for (const [name, [r, g, b]] of Object.entries(CLASSES)) {
      for (let i = 0; i < 8; i++) {
        const colour = (y: number, x: number): Rgb => [(r + x * 2 + i) % 256, (g + y * 2) % 256, (b + i * 3) % 256];
        await put(join(data, name, `${name}.${i}.${i % 2 === 0 ? 'png' : 'jpg'}`), await (i % 2 === 0 ? png(12, 12, colour) : jpeg(12, 12, colour)));
      }
    }
    await put(join(data, 'README.txt'), 'three colours\n');
    const good = await png(12, 12, CLASSES['cat'] ?? [0, 0, 0]);
    await put(join(data, 'cat', 'broken.png'), garble(good, 41, good.length - 12));
    await put(join(data, 'dog', 'cut.jpg'), truncate(await jpeg(24, 24, (y, x) => [x * 10, y * 10, 50]), 0.5));
    await put(join(data, 'fox', 'huge.png'), pngHeaderOnly(20_000, 20_000));
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('trains, FINISHES, and tags the run with the skip counts', async () => {
    const out = join(work, 'out');
    const res = await runCli(
      ['train', '--dataset', `folder:${data}`, '--backbone', 'small-cnn', '--weights', 'none', '--max_epochs', '2',
        '--samples_per_class', 'all', '--batch_size', '8', '--output_dir', out],
      childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'folder' }),
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    assert.match(res.stderr, /all classes: kept 24; ignored 1 \(README\.txt\); corrupt 1 \(cat\/broken\.png \[PNG decode failed/);
    assert.match(res.stderr, /truncated 1 \(dog\/cut\.jpg \[JPEG decode failed/);
    assert.match(res.stderr, /too_large 1 \(fox\/huge\.png \[20000×20000 = 400000000 pixels/);

    const run = await onlyRun(clientFor(server.url), 'folder');
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(paramsOf(run)['dataset'], `folder:${data}`);
    const tags = tagsOf(run);
    assert.equal(tags['transferkit.data_skipped_ignored'], '1');
    assert.equal(tags['transferkit.data_skipped_corrupt'], '1');
    assert.equal(tags['transferkit.data_skipped_truncated'], '1');
    assert.equal(tags['transferkit.data_skipped_too_large'], '1');
    assert.equal(tags['transferkit.data_skipped_unreadable'], '0');
    assert.match(tags['transferkit.data_fingerprint'] ?? '', /^[0-9a-f]{64}$/);

    const metrics = metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8')));
    assert.deepEqual(metrics.classNames, ['cat', 'dog', 'fox']);
    assert.equal(metrics.test.count, 6, 'round(20%) of 8 images per class held out for testing');
    assert.equal(metrics.test.perClassAccuracy.length, 3);
  });

  it('stops before training with a clear message when a class folder is empty', async () => {
    const broken = join(work, 'broken');
    await put(join(broken, 'cat', 'a.png'), await png(8, 8, [1, 2, 3]));
    await put(join(broken, 'dog', 'notes.txt'), 'no images yet');
    const res = await runCli(
      ['train', '--dataset', `folder:${broken}`, '--backbone', 'small-cnn', '--weights', 'none', '--output_dir', join(work, 'out2')],
      childEnv({ TRANSFERKIT_TRACKING: 'off' }),
    );
    assert.notEqual(res.exitCode, 0);
    assert.match(res.stderr, /class "dog" \(dog\/\) has no usable image: all 1 of its files were skipped \(ignored 1 \(dog\/notes\.txt\)\)/);
    assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace for a data error');
  });
});
