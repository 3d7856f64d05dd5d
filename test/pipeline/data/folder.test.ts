/**
 * `folder:PATH` datasets with real files decoded by tfjs-node: layouts, the deterministic test split,
 * what is skipped and why (not an image, corrupt, truncated, too large), errors, fingerprints, leaks.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-node';
import { DataError, ParamError } from '../../../src/errors.js';
import { DEFAULT_MAX_PIXELS, folderTags, loadFolderDataset, resolveMaxPixels } from '../../../src/pipeline/data/folder.js';
import { looksTruncated, readHeader, sniffFormat } from '../../../src/pipeline/data/image-header.js';
import { getDatasetSpec, loadDataset } from '../../../src/pipeline/data/registry.js';
import type { ImageSet } from '../../../src/pipeline/data/types.js';
import { GIF_1X1, type Rgb, bmp, garble, jpeg, png, pngHeaderOnly, put, truncate } from '../../support/make-images.js';

const COLOURS: Readonly<Record<string, Rgb>> = { cat: [220, 40, 40], dog: [40, 200, 60], fox: [50, 60, 230] };
const shade = (c: Rgb, i: number): Rgb => [c[0], c[1], (c[2] + i * 3) % 256];

function logger() {
  const lines: string[] = [];
  return { lines, info: (m: string) => void lines.push(`info ${m}`), warn: (m: string) => void lines.push(`warn ${m}`) };
}
const noNetwork = (): Promise<Response> => Promise.reject(new Error('no network in this test'));

const dataError = (pattern: RegExp) => (error: unknown): boolean => {
  assert.ok(error instanceof DataError, `expected a DataError, got ${String(error)}`);
  assert.match(error.message, pattern);
  return true;
};

/** The pixel at (y, x) of image i. */
const at = (set: ImageSet, i: number, y: number, x: number): number[] => {
  const o = ((i * set.height + y) * set.width + x) * 3;
  return Array.from(set.images.subarray(o, o + 3));
};

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'transferkit-folder-'));
});
after(() => rm(work, { recursive: true, force: true }));

/** Writes the flat layout fixture: 3 classes, with every kind of file that must be skipped. */
async function flatFixture(dir: string): Promise<void> {
  for (const [name, colour] of Object.entries(COLOURS)) {
    for (let i = 0; i < 5; i++) await put(join(dir, name, `${name}.${i}.png`), await png(8, 8, shade(colour, i)));
  }
  await put(join(dir, 'README.txt'), 'cats, dogs and foxes\n');
  await put(join(dir, '.ipynb_checkpoints', 'x.png'), await png(8, 8, [0, 0, 0]));
  await put(join(dir, 'cat', '.DS_Store'), Buffer.from('\0\0\0\x01Bud1\0\0\x10\0', 'latin1'));
  await put(join(dir, 'cat', 'Thumbs.db'), Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0, 0, 0]));
  await put(join(dir, 'cat', 'notes.jpg'), 'not really a JPEG\n');
  await put(join(dir, 'cat', 'sub', 'nested.png'), await png(8, 8, COLOURS['cat'] ?? [0, 0, 0]));
  const good = await png(8, 8, COLOURS['cat'] ?? [0, 0, 0]);
  await put(join(dir, 'cat', 'broken.png'), garble(good, 41, good.length - 12));
  await put(join(dir, 'dog', 'cut.jpg'), truncate(await jpeg(32, 32, (y, x) => [x * 8, y * 8, 60]), 0.6));
  await put(join(dir, 'dog', 'cut.png'), truncate(await png(32, 32, (y, x) => [x * 8, y * 8, 60]), 0.6));
  await put(join(dir, 'fox', 'huge.png'), pngHeaderOnly(20_000, 20_000));
  await put(join(dir, 'fox', 'photo'), await jpeg(8, 8, COLOURS['fox'] ?? [0, 0, 0]));
  await put(join(dir, 'fox', 'pic.bmp'), bmp(8, 8, COLOURS['fox'] ?? [0, 0, 0]));
  await put(join(dir, 'fox', 'dot.gif'), GIF_1X1);
}

describe('image headers', () => {
  it('tells images from other files by their magic bytes, not their names', async () => {
    assert.equal(sniffFormat(await png(4, 4, [1, 2, 3])), 'png');
    assert.equal(sniffFormat(await jpeg(4, 4, [1, 2, 3])), 'jpeg');
    assert.equal(sniffFormat(GIF_1X1), 'gif');
    assert.equal(sniffFormat(bmp(2, 2, [1, 2, 3])), 'bmp');
    assert.equal(sniffFormat(Buffer.from('BMW service notes, 2024 edition\n')), undefined, '"BM" alone is not a BMP');
    assert.equal(sniffFormat(Buffer.from('hello')), undefined);
    assert.equal(sniffFormat(new Uint8Array()), undefined);
  });

  it('reads the pixel size from PNG, JPEG, GIF and BMP headers without decoding', async () => {
    assert.deepEqual(readHeader('png', await png(7, 9, [1, 2, 3]), true), { kind: 'size', width: 9, height: 7, frames: 1 });
    assert.deepEqual(readHeader('jpeg', await jpeg(7, 9, [1, 2, 3]), true), { kind: 'size', width: 9, height: 7, frames: 1 });
    assert.deepEqual(readHeader('gif', GIF_1X1, true), { kind: 'size', width: 1, height: 1, frames: 1 });
    assert.deepEqual(readHeader('bmp', bmp(7, 9, [1, 2, 3]), true), { kind: 'size', width: 9, height: 7, frames: 1 });
    assert.deepEqual(readHeader('png', pngHeaderOnly(20_000, 20_000), true), { kind: 'size', width: 20_000, height: 20_000, frames: 1 });
    assert.equal(readHeader('jpeg', truncate(await jpeg(7, 9, [1, 2, 3]), 0.05), true).kind, 'truncated');
    assert.equal(readHeader('png', truncate(await png(7, 9, [1, 2, 3]), 0.1), true).kind, 'truncated');
    assert.equal(readHeader('gif', GIF_1X1.subarray(0, 30), true).kind, 'truncated');
  });

  it('tells truncated files from complete ones by their end markers', async () => {
    const p = await png(16, 16, (y, x) => [x * 16, y * 16, 0]);
    const j = await jpeg(16, 16, (y, x) => [x * 16, y * 16, 0]);
    assert.equal(looksTruncated('png', p), false);
    assert.equal(looksTruncated('png', truncate(p, 0.7)), true);
    assert.equal(looksTruncated('jpeg', j), false);
    assert.equal(looksTruncated('jpeg', Buffer.concat([j, Buffer.alloc(16)])), false, 'zero padding after EOI');
    assert.equal(looksTruncated('jpeg', truncate(j, 0.7)), true);
    assert.equal(looksTruncated('gif', GIF_1X1), false);
    assert.equal(looksTruncated('bmp', truncate(bmp(8, 8, [1, 2, 3]), 0.7)), true);
  });

  it('tfjs-node throws on truncated and garbled PNG/JPEG: nothing is decoded partially', async () => {
    const p = await png(32, 32, (y, x) => [x * 8, y * 8, 60]);
    const j = await jpeg(32, 32, (y, x) => [x * 8, y * 8, 60]);
    for (const bytes of [truncate(p, 0.9), truncate(p, 0.5), truncate(j, 0.9), truncate(j, 0.5), garble(p, 41, p.length - 12), garble(j, j.length / 2, j.length - 2)]) {
      const before = tf.memory().numTensors;
      assert.throws(() => tf.node.decodeImage(bytes, 3));
      assert.equal(tf.memory().numTensors, before);
    }
  });
});

describe('folder:PATH, flat layout (PATH/<class>/…)', () => {
  let dir: string;
  before(async () => {
    dir = join(work, 'flat');
    await flatFixture(dir);
  });

  it('keeps the images, skips and counts the rest, and leaks no tensor', async () => {
    const log = logger();
    const tensors = tf.memory().numTensors;
    const data = await loadFolderDataset({ name: `folder:${dir}`, path: dir, imageSize: 8, logger: log });
    assert.equal(tf.memory().numTensors, tensors, 'no tensor left behind');
    assert.deepEqual(data.classNames, ['cat', 'dog', 'fox']);
    assert.equal(data.name, `folder:${dir}`);
    assert.equal(data.source, dir);
    assert.equal(data.verified, false);
    assert.deepEqual(data.skipped, { ignored: 5, corrupt: 1, truncated: 2, too_large: 1, unreadable: 0 });
    // cat: 5 + nested = 6 (1 test), dog: 5 (1 test), fox: 5 + photo + bmp + gif = 8 (round(1.6) = 2 test)
    assert.equal(data.train.count + data.test.count, 19);
    assert.deepEqual(Array.from(data.test.labels), [0, 1, 2, 2]);
    for (const set of [data.train, data.test]) assert.deepEqual([set.height, set.width, set.channels], [8, 8, 3]);
    assert.deepEqual(Array.from(data.train.labels).filter((l) => l === 0).length, 5);

    const summary = log.lines.find((l) => l.startsWith(`warn folder:${dir} all classes: kept 19;`));
    assert.ok(summary, log.lines.join('\n'));
    assert.match(summary, /ignored 5 \(\.ipynb_checkpoints, README\.txt, cat\/\.DS_Store, …\)/);
    assert.match(summary, /corrupt 1 \(cat\/broken\.png \[PNG decode failed: [^\]]*Invalid PNG[^\]]*\]\)/);
    assert.match(summary, /truncated 2 \(dog\/cut\.jpg \[JPEG decode failed: [^\]]*\], dog\/cut\.png\)/);
    assert.match(summary, /too_large 1 \(fox\/huge\.png \[20000×20000 = 400000000 pixels, more than the limit of 40000000\]\)/);
    assert.match(summary, /unreadable 0/);
    assert.ok(log.lines.some((l) => l.startsWith(`info folder:${dir}: 15 train / 4 test images in 3 classes (cat, dog, fox)`)));
    assert.deepEqual(folderTags(data), {
      'transferkit.data_skipped_ignored': '5',
      'transferkit.data_skipped_corrupt': '1',
      'transferkit.data_skipped_truncated': '2',
      'transferkit.data_skipped_too_large': '1',
      'transferkit.data_skipped_unreadable': '0',
    });
  });

  it('stores the pixels exactly when no resize is needed, and colours survive the resize', async () => {
    const data = await loadFolderDataset({ name: 'folder:x', path: dir, imageSize: 8, logger: logger() });
    const cats = [...data.train.labels.keys()].filter((i) => data.train.labels[i] === 0);
    const colours = new Set(cats.map((i) => at(data.train, i, 3, 5).join(',')));
    for (const c of colours) assert.ok([0, 1, 2, 3, 4].some((k) => shade(COLOURS['cat'] ?? [0, 0, 0], k).join(',') === c), `cat pixel ${c}`);
    const small = await loadFolderDataset({ name: 'folder:x', path: dir, imageSize: 3, logger: logger() });
    assert.deepEqual([small.train.height, small.train.width], [3, 3]);
    assert.deepEqual(at(small.train, 0, 1, 1), at(data.train, 0, 4, 4), 'a constant image stays constant');
  });

  it('resizes bilinearly with half-pixel centres (two halves stay pure at half the size)', async () => {
    const halves = join(work, 'halves');
    const split = (y: number, x: number): Rgb => (x < 8 ? [255, 0, 0] : [0, 0, 255]);
    for (const c of ['a', 'b']) for (let i = 0; i < 2; i++) await put(join(halves, c, `${i}.png`), await png(16, 16, split));
    const data = await loadFolderDataset({ name: 'folder:halves', path: halves, imageSize: 8, logger: logger() });
    assert.deepEqual(at(data.train, 0, 0, 0), [255, 0, 0]);
    assert.deepEqual(at(data.train, 0, 7, 3), [255, 0, 0]);
    assert.deepEqual(at(data.train, 0, 2, 4), [0, 0, 255]);
  });

  it('takes the same test split on every load, from the file names alone', async () => {
    const a = await loadFolderDataset({ name: 'folder:x', path: dir, imageSize: 8, logger: logger() });
    const b = await loadFolderDataset({ name: 'folder:x', path: dir, imageSize: 8, logger: logger() });
    assert.equal(a.fingerprint, b.fingerprint);
    assert.deepEqual(Buffer.from(a.test.images), Buffer.from(b.test.images));
    assert.deepEqual(Buffer.from(a.train.images), Buffer.from(b.train.images));
  });

  it('changes the fingerprint with the image size and with any image file, not with ignored files', async () => {
    const copy = join(work, 'fingerprint');
    for (const c of ['a', 'b']) for (let i = 0; i < 3; i++) await put(join(copy, c, `${i}.png`), await png(8, 8, [i * 50, c === 'a' ? 0 : 200, 9]));
    const load = (imageSize = 8) => loadFolderDataset({ name: 'folder:x', path: copy, imageSize, logger: logger() });
    const base = (await load()).fingerprint;
    assert.notEqual((await load(4)).fingerprint, base);
    await put(join(copy, 'a', 'README.md'), 'notes');
    assert.equal((await load()).fingerprint, base, 'a non-image file is not data');
    await put(join(copy, 'a', '0.png'), await png(8, 8, [1, 2, 3]));
    assert.notEqual((await load()).fingerprint, base);
  });

  it('applies the pixel limit from the option and from TRANSFERKIT_MAX_IMAGE_PIXELS', async () => {
    const sizes = join(work, 'sizes');
    for (const c of ['a', 'b']) {
      await put(join(sizes, c, 'small1.png'), await png(8, 8, [1, 1, 1]));
      await put(join(sizes, c, 'small2.png'), await png(8, 8, [2, 2, 2]));
      await put(join(sizes, c, 'big.jpg'), await jpeg(16, 16, [3, 3, 3]));
    }
    const byEnv = await loadFolderDataset({ name: 'folder:s', path: sizes, imageSize: 8, logger: logger(), env: { TRANSFERKIT_MAX_IMAGE_PIXELS: '100' } });
    assert.equal(byEnv.skipped?.['too_large'], 2);
    const byOption = await loadFolderDataset({ name: 'folder:s', path: sizes, imageSize: 8, logger: logger(), maxPixels: 256, env: { TRANSFERKIT_MAX_IMAGE_PIXELS: '100' } });
    assert.equal(byOption.skipped?.['too_large'], 0, 'the option wins over the environment');
    assert.equal(resolveMaxPixels({}), DEFAULT_MAX_PIXELS);
    assert.equal(DEFAULT_MAX_PIXELS, 40_000_000);
    assert.throws(() => resolveMaxPixels({ env: { TRANSFERKIT_MAX_IMAGE_PIXELS: '4e7' } }),
      (e: unknown) => e instanceof ParamError && /TRANSFERKIT_MAX_IMAGE_PIXELS="4e7" is not a positive integer/.test(e.message));
    await assert.rejects(loadFolderDataset({ name: 'folder:s', path: sizes, imageSize: 8, logger: logger(), maxPixels: 10 }),
      dataError(/class "a" \(a\/\) has no usable image: all 3 of its files were skipped \(too_large 3 \(a\/big\.jpg \[16×16 = 256 pixels, more than the limit of 10\], a\/small1\.png, a\/small2\.png\)\)/));
  });
});

describe('folder:PATH, train/ and test/ layout', () => {
  const twoClasses = async (root: string, split: string, n: number, classes = ['ant', 'bee']): Promise<void> => {
    for (const c of classes) for (let i = 0; i < n; i++) await put(join(root, split, c, `${i}.png`), await png(6, 6, [c.length * 40, i * 20, 7]));
  };

  it('uses train/ and test/ as given', async () => {
    const root = join(work, 'split');
    await twoClasses(root, 'train', 3);
    await twoClasses(root, 'test', 2);
    await put(join(root, 'LICENSE'), 'CC0');
    const log = logger();
    const data = await loadFolderDataset({ name: 'folder:split', path: root, imageSize: 6, logger: log });
    assert.deepEqual([data.train.count, data.test.count], [6, 4]);
    assert.deepEqual(Array.from(data.test.labels), [0, 0, 1, 1]);
    assert.ok(log.lines.some((l) => l === 'info folder:split train: kept 6; ignored 0; corrupt 0; truncated 0; too_large 0; unreadable 0'), log.lines.join('\n'));
    assert.ok(log.lines.some((l) => l.startsWith('info folder:split test: kept 4;')));
    assert.ok(log.lines.some((l) => l.includes('not read: LICENSE')));
  });

  for (const name of ['validation', 'val']) {
    it(`accepts ${name}/ as the test folder when there is no test/`, async () => {
      const root = join(work, `split-${name}`);
      await twoClasses(root, 'train', 2);
      await twoClasses(root, name, 1);
      const data = await loadFolderDataset({ name: 'folder:v', path: root, imageSize: 6, logger: logger() });
      assert.deepEqual([data.train.count, data.test.count], [4, 2]);
    });
  }

  it('rejects a test class that train/ does not have, and a train class missing from test/', async () => {
    const extra = join(work, 'extra');
    await twoClasses(extra, 'train', 2);
    await twoClasses(extra, 'test', 1, ['ant', 'bee', 'cow']);
    await assert.rejects(loadFolderDataset({ name: 'folder:e', path: extra, imageSize: 6, logger: logger() }),
      dataError(/test\/ has class folder "cow" that train\/ does not have; the classes are train\/'s: ant, bee/));
    const missing = join(work, 'missing');
    await twoClasses(missing, 'train', 2, ['ant', 'bee', 'cow']);
    await twoClasses(missing, 'test', 1);
    await assert.rejects(loadFolderDataset({ name: 'folder:m', path: missing, imageSize: 6, logger: logger() }),
      dataError(/class "cow" of train\/ has no folder in test\/; every class needs test images/));
    const onlyTrain = join(work, 'only-train');
    await twoClasses(onlyTrain, 'train', 2);
    await assert.rejects(loadFolderDataset({ name: 'folder:o', path: onlyTrain, imageSize: 6, logger: logger() }),
      dataError(/has train\/ but no test\/ \(or validation\/, val\/\)/));
  });
});

describe('folder:PATH errors before training', () => {
  const load = (path: string) => loadFolderDataset({ name: `folder:${path}`, path, imageSize: 4, logger: logger() });

  it('names a missing path, a file, and a folder without class subfolders', async () => {
    await assert.rejects(load(join(work, 'nowhere')), dataError(new RegExp(`dataset folder:.*nowhere: .*nowhere does not exist`)));
    await put(join(work, 'file.png'), await png(4, 4, [1, 2, 3]));
    await assert.rejects(load(join(work, 'file.png')), dataError(/file\.png is a file, expected a directory of class folders/));
    await put(join(work, 'flat-files', 'a.png'), await png(4, 4, [1, 2, 3]));
    await assert.rejects(load(join(work, 'flat-files')), dataError(/flat-files has no class subfolders; expected PATH\/<class>\/<images>/));
    await put(join(work, 'one-class', 'cat', 'a.png'), await png(4, 4, [1, 2, 3]));
    await assert.rejects(load(join(work, 'one-class')), dataError(/has 1 class subfolder \(cat\); a classifier needs at least 2/));
  });

  it('names an empty class folder, and one whose files were all skipped', async () => {
    const root = join(work, 'empty-class');
    await put(join(root, 'full', 'a.png'), await png(4, 4, [1, 2, 3]));
    await mkdir(join(root, 'empty'), { recursive: true });
    await assert.rejects(load(root), dataError(/class folder .*empty-class\/empty \(class "empty"\) is empty/));
    const skipped = join(work, 'all-skipped');
    await put(join(skipped, 'good', 'a.png'), await png(4, 4, [1, 2, 3]));
    await put(join(skipped, 'good', 'b.png'), await png(4, 4, [1, 2, 4]));
    await put(join(skipped, 'bad', 'README.txt'), 'nothing here');
    await put(join(skipped, 'bad', 'x.png'), truncate(await png(4, 4, [1, 2, 3]), 0.5));
    await assert.rejects(load(skipped), dataError(/class "bad" \(bad\/\) has no usable image: all 2 of its files were skipped \(ignored 1 \(bad\/README\.txt\); truncated 1 \(bad\/x\.png \[PNG/));
    const single = join(work, 'single');
    await put(join(single, 'a', '1.png'), await png(4, 4, [1, 2, 3]));
    await put(join(single, 'a', '2.png'), await png(4, 4, [1, 2, 3]));
    await put(join(single, 'b', '1.png'), await png(4, 4, [1, 2, 3]));
    await assert.rejects(load(single), dataError(/class "b" has 1 usable image; with no train\/ and test\/ folders each class needs at least 2/));
  });
});

describe('folder:PATH through the registry', () => {
  it('dispatches folder: names to the folder reader, which needs an image size', async () => {
    const root = join(work, 'registry');
    for (const c of ['x', 'y']) for (let i = 0; i < 2; i++) await put(join(root, c, `${i}.png`), await png(5, 5, [i, 2, 3]));
    const data = await loadDataset({ name: `folder:${root}`, imageSize: 5, fetch: noNetwork, logger: logger() });
    assert.equal(data.name, `folder:${root}`);
    assert.deepEqual(data.classNames, ['x', 'y']);
    assert.deepEqual([data.train.count, data.test.count, data.train.height], [2, 2, 5]);
    await assert.rejects(loadDataset({ name: `folder:${root}`, fetch: noNetwork, logger: logger() }), dataError(/needs the size to resize its images to/));
    await assert.rejects(loadDataset({ name: 'folder:', imageSize: 5, fetch: noNetwork, logger: logger() }),
      (e: unknown) => e instanceof ParamError && /has no path; expected folder:PATH/.test(e.message));
    assert.throws(() => getDatasetSpec(`folder:${root}`), (e: unknown) => e instanceof ParamError && !/not supported/.test(e.message));
  });
});
