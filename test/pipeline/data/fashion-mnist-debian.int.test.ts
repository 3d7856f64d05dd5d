/**
 * The real Fashion-MNIST from Debian's `dataset-fashion-mnist` package, through the registry with the
 * network disabled: it must be found in /usr/share/datasets/fashion-mnist and pass its content checksums.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadDataset } from '../../../src/pipeline/data/registry.js';
import type { FetchFn } from '../../../src/pipeline/download.js';

const DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

describe('Debian Fashion-MNIST', () => {
  const dirs: string[] = [];
  after(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it('loads 60000/10000 verified 28×28 images with labels 0..9, offline', async () => {
    if (!existsSync(DEBIAN_DIR)) {
      assert.fail(`${DEBIAN_DIR} is missing: run \`apt-get install dataset-fashion-mnist\` (the Debian package with the official Fashion-MNIST files)`);
    }
    const cacheDir = await mkdtemp(join(tmpdir(), 'fmnist-'));
    dirs.push(cacheDir);
    const noNetwork: FetchFn = async (url) => {
      throw new Error(`unexpected download of ${url}`);
    };
    const warnings: string[] = [];
    const data = await loadDataset({
      name: 'fashion-mnist', cacheDir, fetch: noNetwork, logger: { info: () => undefined, warn: (m) => warnings.push(m) },
    });

    assert.deepEqual(warnings, []);
    assert.equal(data.source, DEBIAN_DIR);
    assert.equal(data.verified, true);
    assert.equal(data.train.count, 60000);
    assert.equal(data.test.count, 10000);
    for (const set of [data.train, data.test]) {
      assert.deepEqual([set.height, set.width, set.channels], [28, 28, 1]);
      assert.equal(set.images.length, set.count * 784);
      assert.equal(set.labels.length, set.count);
    }
    const perClass = (labels: Int32Array): number[] => {
      const counts = new Array<number>(10).fill(0);
      for (const l of labels) {
        assert.ok(l >= 0 && l <= 9, `label ${l}`);
        counts[l] = (counts[l] ?? 0) + 1;
      }
      return counts;
    };
    assert.deepEqual(perClass(data.train.labels), new Array<number>(10).fill(6000));
    assert.deepEqual(perClass(data.test.labels), new Array<number>(10).fill(1000));
    assert.deepEqual(data.classNames, ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);
  });
});
