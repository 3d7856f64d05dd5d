/**
 * A short real run on real data that can be had offline: Fashion-MNIST from Debian's
 * dataset-fashion-mnist. The seed's recipe in small: a source model learns classes 0-4, then its
 * frozen conv layers transfer to classes 5-9 with a label budget.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { childEnv, runCli, tempDir } from '../support/cli.js';

const metricsFile = z.object({
  epochs: z.array(z.object({ epoch: z.number(), val_accuracy: z.number() })),
  test: z.object({ accuracy: z.number(), count: z.number(), perClassAccuracy: z.array(z.number().nullable()) }),
});

describe('Fashion-MNIST, offline, source 0-4 → target 5-9', () => {
  let work: string;
  const env = () => childEnv({ TRANSFERKIT_TRACKING: 'off' });
  before(async () => {
    work = await tempDir('fashion');
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('trains a source model on classes 0-4 and reuses it, frozen, for 5-9', async () => {
    const common = ['--dataset', 'fashion-mnist', '--backbone', 'small-cnn', '--batch_size', '64'];
    const source = await runCli(
      ['train', ...common, '--classes', '0-4', '--weights', 'none', '--retrained_conv_layers', 'all', '--samples_per_class', '400', '--max_epochs', '2', '--output_dir', join(work, 'source')],
      env(),
    );
    assert.equal(source.exitCode, 0, source.stderr.slice(-2000));
    assert.match(source.stderr, /official checksums verified/);
    const src = metricsFile.parse(JSON.parse(await readFile(join(work, 'source', 'metrics.json'), 'utf8')));
    assert.equal(src.test.count, 5000, 'the whole test set of classes 0-4');
    assert.ok(src.test.accuracy > 0.75, `source test accuracy ${src.test.accuracy}`);

    const target = await runCli(
      ['train', ...common, '--classes', '5-9', '--weights', join(work, 'source', 'model'), '--samples_per_class', '100', '--max_epochs', '5', '--output_dir', join(work, 'target')],
      env(),
    );
    assert.equal(target.exitCode, 0, target.stderr.slice(-2000));
    assert.match(target.stderr, /model ready .*\bstages=\[\[\]\]/, 'every conv layer frozen');
    const tgt = metricsFile.parse(JSON.parse(await readFile(join(work, 'target', 'metrics.json'), 'utf8')));
    assert.equal(tgt.test.count, 5000);
    assert.equal(tgt.test.perClassAccuracy.length, 5);
    assert.ok(tgt.test.accuracy > 0.8, `transfer test accuracy ${tgt.test.accuracy} with 100 labels per class`);
  });

  it('rejects a budget larger than a class has, naming the class and its count', async () => {
    const res = await runCli(['train', '--dataset', 'fashion-mnist', '--backbone', 'small-cnn', '--weights', 'none', '--samples_per_class', '7000'], env());
    assert.equal(res.exitCode, 2);
    assert.match(res.stderr, /samples_per_class/);
    assert.match(res.stderr, /6000/);
    assert.doesNotMatch(res.stderr, /\n\s+at /);
  });
});
