/**
 * The dataset registry (as data) and `loadDataset`.
 *
 * Where the files come from, in order:
 * 1. `dataDir` given by the user: read AS IS, never downloaded into. The files must be in the exact
 *    official format (validated strictly) but need not be the official files: a local directory is
 *    the user's data. When a file does not match the published checksum a warning is logged and
 *    `verified` is false. The fingerprint is computed from the files' own content either way.
 * 2. System copies (`systemDirs`, e.g. Debian's `dataset-fashion-mnist`): used only when every
 *    file's decompressed content has the registry's `contentSha256`; otherwise skipped with a warning.
 * 3. The download cache, then the official URLs: always verified against the registry checksum
 *    (a cached file that does not match is deleted and downloaded again; see download.ts).
 * `folder:PATH` names have no entry: `loadDataset` hands them to folder.ts. Reading is in sources.ts.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import type { Checksum } from '../download.js';
import { loadFolderDataset } from './folder.js';
import { loadLocal, loadOfficial } from './sources.js';
import { USPS } from './usps.js';
import { VIEWS } from './views.js';
import type { Cifar10DatasetSpec, DatasetSpec, IdxDatasetSpec, LoadDatasetOptions, RemoteFile } from './spec.js';
import type { LoadedDataset } from './types.js';
export type { Cifar10DatasetSpec, DatasetSpec, IdxDatasetSpec, LoadDatasetOptions, RemoteFile } from './spec.js';

const md5 = (hex: string): Checksum => ({ algorithm: 'md5', hex });

/**
 * CIFAR-10, binary version. URL and md5 from the dataset's page (https://www.cs.toronto.edu/~kriz/cifar.html,
 * "CIFAR-10 binary version (suitable for C programs)", 162 MB, md5 c32a1d4ab5d03f1284b67883e8d87530).
 * cave.cs.toronto.edu is the department host third-party reports show serving the same archive; it is only
 * accepted as a redirect target of the official URL (the md5 is checked either way).
 */
export const CIFAR10: Cifar10DatasetSpec = {
  name: 'cifar10',
  description: 'CIFAR-10: 60,000 32×32 colour images in 10 classes (50,000 train, 10,000 test)',
  homepage: 'https://www.cs.toronto.edu/~kriz/cifar.html',
  classNames: ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'],
  imageShape: { height: 32, width: 32, channels: 3 },
  loader: 'cifar10-binary',
  files: {
    archive: {
      fileName: 'cifar-10-binary.tar.gz',
      urls: ['https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz'],
      checksum: md5('c32a1d4ab5d03f1284b67883e8d87530'),
    },
  },
  allowedHosts: ['cave.cs.toronto.edu'],
  views: VIEWS.mirrorable,
};

const idxFile = (fileName: string, bases: readonly string[], hex: string, contentSha256?: string): RemoteFile => ({
  fileName,
  urls: bases.map((base) => `${base}${fileName}`),
  checksum: md5(hex),
  ...(contentSha256 === undefined ? {} : { contentSha256 }),
});

/**
 * MNIST. The original host (http://yann.lecun.com/exdb/mnist/) is http-only and answers 403 nowadays.
 * Mirrors of the identical files: TensorFlow's (storage.googleapis.com/cvdf-datasets, used by TFDS, which
 * records the same sizes as LeCun's page, e.g. 9912422 bytes) and PyTorch's (ossci-datasets, used by
 * torchvision). The md5s are torchvision's, which it checks against both LeCun's files and its mirror.
 */
const MNIST_MIRRORS = ['https://storage.googleapis.com/cvdf-datasets/mnist/', 'https://ossci-datasets.s3.amazonaws.com/mnist/'];
export const MNIST: IdxDatasetSpec = {
  name: 'mnist',
  description: 'MNIST handwritten digits: 70,000 28×28 grayscale images in 10 classes (60,000 train, 10,000 test)',
  homepage: 'http://yann.lecun.com/exdb/mnist/',
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  imageShape: { height: 28, width: 28, channels: 1 },
  loader: 'idx',
  files: {
    trainImages: idxFile('train-images-idx3-ubyte.gz', MNIST_MIRRORS, 'f68b3c2dcbeaaa9fbdd348bbdeb94873'),
    trainLabels: idxFile('train-labels-idx1-ubyte.gz', MNIST_MIRRORS, 'd53e105ee54ea40749a09fcbcd1e9432'),
    testImages: idxFile('t10k-images-idx3-ubyte.gz', MNIST_MIRRORS, '9fb629c4189551a2d022fa330f9573f3'),
    testLabels: idxFile('t10k-labels-idx1-ubyte.gz', MNIST_MIRRORS, 'ec29112dd5afa0611ce80d1b7f02629c'),
  },
  systemDirs: [],
  views: VIEWS.noFlip,
};

/**
 * Fashion-MNIST. md5s from the table in https://github.com/zalandoresearch/fashion-mnist README. The
 * README's direct links are plain http (an S3 website endpoint), so the https copy in the same official
 * repository (data/fashion/, which the README points to) is used: the git blob ids of its four files match
 * the files with the README's md5s. Debian's dataset-fashion-mnist ships the same gzip streams with the file name and
 * mtime stripped from the gzip header (restoring them gives the README md5s and TFDS's sha256s), so its
 * .gz md5s differ; `contentSha256` (of the decompressed IDX bytes) verifies it instead.
 */
const FASHION_BASE = ['https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'];
export const FASHION_MNIST: IdxDatasetSpec = {
  name: 'fashion-mnist',
  description: "Fashion-MNIST: Zalando's 70,000 28×28 grayscale article images in 10 classes (60,000 train, 10,000 test)",
  homepage: 'https://github.com/zalandoresearch/fashion-mnist',
  classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  imageShape: { height: 28, width: 28, channels: 1 },
  loader: 'idx',
  files: {
    trainImages: idxFile('train-images-idx3-ubyte.gz', FASHION_BASE, '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
      'c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888'),
    trainLabels: idxFile('train-labels-idx1-ubyte.gz', FASHION_BASE, '25c81989df183df01b3e8a0aad5dffbe',
      'bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9'),
    testImages: idxFile('t10k-images-idx3-ubyte.gz', FASHION_BASE, 'bef4ecab320f06d8554ea6380940ec79',
      '5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b'),
    testLabels: idxFile('t10k-labels-idx1-ubyte.gz', FASHION_BASE, 'bb300cfdad3c16e7a12a480ee83cd310',
      '0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34'),
  },
  systemDirs: ['/usr/share/datasets/fashion-mnist'],
  views: VIEWS.mirrorable,
};

export const DATASETS: readonly DatasetSpec[] = [CIFAR10, MNIST, FASHION_MNIST, USPS];

/** User image folders, `folder:PATH`: no registry entry, read by folder.ts. */
export const FOLDER_PREFIX = 'folder:';

export function datasetNames(registry: readonly DatasetSpec[] = DATASETS): string[] {
  return registry.map((d) => d.name);
}

export function getDatasetSpec(name: string, registry: readonly DatasetSpec[] = DATASETS): DatasetSpec {
  const spec = registry.find((d) => d.name === name);
  if (spec !== undefined) return spec;
  const expected = `expected one of ${datasetNames(registry).join(', ')}, or ${FOLDER_PREFIX}PATH`;
  if (name.startsWith(FOLDER_PREFIX)) {
    throw new ParamError('dataset', `dataset ${JSON.stringify(name)} is an image folder: it has no registry entry (its classes are its subfolders); load it with loadDataset`);
  }
  throw new ParamError('dataset', `unknown dataset ${JSON.stringify(name)}; ${expected}`);
}

export async function loadDataset(options: LoadDatasetOptions): Promise<LoadedDataset> {
  if (options.name.startsWith(FOLDER_PREFIX)) return loadFolder(options);
  const spec = getDatasetSpec(options.name, options.registry);
  const { logger } = options;
  const loaded = options.dataDir !== undefined
    ? await loadLocal(spec, resolve(options.dataDir), logger)
    : await loadOfficial(spec, options);
  for (const [split, set] of [['train', loaded.train], ['test', loaded.test]] as const) {
    const want = spec.imageShape;
    if (set.height !== want.height || set.width !== want.width || set.channels !== want.channels) {
      throw new DataError(
        `${spec.name} ${split} images from ${loaded.source} are ${set.height}×${set.width}×${set.channels}, expected ${want.height}×${want.width}×${want.channels}`,
      );
    }
  }
  const lines = Object.entries(loaded.contentSha256).sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, h]) => `${n}\t${h}\n`);
  const fingerprint = createHash('sha256').update(lines.join('')).digest('hex');
  logger.info(`${spec.name}: ${loaded.train.count} train / ${loaded.test.count} test images from ${loaded.source} (fingerprint ${fingerprint.slice(0, 12)}, ${loaded.verified ? 'official checksums verified' : 'local data, not the official files'})`);
  return { name: spec.name, classNames: spec.classNames, train: loaded.train, test: loaded.test, fingerprint, source: loaded.source, verified: loaded.verified, views: spec.views };
}

function loadFolder(options: LoadDatasetOptions): Promise<LoadedDataset> {
  const { name, imageSize, logger } = options;
  if (imageSize === undefined) throw new DataError(`dataset ${name}: an image folder needs the size to resize its images to (the model's input size); none was given`);
  if (options.dataDir !== undefined) logger.warn(`${name}: data_dir ${options.dataDir} is not used: the images are read from the folder in the dataset name`);
  const path = name.slice(FOLDER_PREFIX.length);
  return loadFolderDataset({ name, path, imageSize, logger, ...(options.env === undefined ? {} : { env: options.env }) });
}
