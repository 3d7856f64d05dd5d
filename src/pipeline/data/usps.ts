/**
 * USPS handwritten digits (16×16 grayscale, 7,291 train / 2,007 test), the usual target of the
 * MNIST → USPS domain-adaptation pair. The files are LIBSVM's bzip2-compressed copies, the ones
 * torchvision and TLlib download, with their published MD5s. Read from the download cache (verified)
 * or from a user's `data_dir` (`usps.bz2`/`usps.t.bz2`, or their decompressed `usps`/`usps.t`).
 */
import type { ViewPolicy } from './spec.js';
import { VIEWS } from './views.js';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../../errors.js';
import type { Checksum } from '../download.js';
import { bunzip2, parseLibsvmImages, type LibsvmImageFormat } from './libsvm.js';
import type { ImageSet } from './types.js';

export interface LibsvmRemoteFile {
  readonly fileName: string;
  readonly urls: readonly string[];
  readonly checksum: Checksum;
}

export interface LibsvmDatasetSpec {
  readonly name: string;
  readonly description: string;
  readonly homepage: string;
  readonly classNames: readonly string[];
  readonly imageShape: { readonly height: number; readonly width: number; readonly channels: 1 };
  readonly allowedHosts?: readonly string[];
  readonly loader: 'libsvm-bz2';
  readonly files: { readonly train: LibsvmRemoteFile; readonly test: LibsvmRemoteFile };
  readonly format: LibsvmImageFormat;
  readonly views: ViewPolicy;
}

const LIBSVM = 'https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass/';

export const USPS: LibsvmDatasetSpec = {
  name: 'usps',
  description: 'USPS: 9,298 16×16 grayscale handwritten digits (7,291 train, 2,007 test), LIBSVM copy',
  homepage: 'https://www.csie.ntu.edu.tw/~cjlin/libsvmtools/datasets/multiclass.html#usps',
  classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
  imageShape: { height: 16, width: 16, channels: 1 },
  loader: 'libsvm-bz2',
  views: VIEWS.noFlip,
  files: {
    train: { fileName: 'usps.bz2', urls: [`${LIBSVM}usps.bz2`], checksum: { algorithm: 'md5', hex: 'ec16c51db3855ca6c91edd34d0e9b197' } },
    test: { fileName: 'usps.t.bz2', urls: [`${LIBSVM}usps.t.bz2`], checksum: { algorithm: 'md5', hex: '8ea070ee2aca1ac39742fdd1ef5ed118' } },
  },
  format: { side: 16, labelOffset: 1, numClasses: 10 },
};

export interface LibsvmLoaded {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly contentSha256: Readonly<Record<string, string>>;
}

/** Reads `path` (bzip2 when it ends in .bz2) into images, with the sha256 of its decompressed text. */
async function readSplit(path: string, format: LibsvmImageFormat): Promise<{ set: ImageSet; sha256: string }> {
  const raw = await readFile(path);
  const text = path.endsWith('.bz2') ? bunzip2(raw, path) : raw;
  return { set: parseLibsvmImages(text.toString('latin1'), format, path), sha256: createHash('sha256').update(text).digest('hex') };
}

/** The two files in `dir`: NAME.bz2, else the decompressed NAME. */
export async function loadLibsvmDir(spec: LibsvmDatasetSpec, dir: string): Promise<LibsvmLoaded & { paths: readonly string[] }> {
  const find = async (file: LibsvmRemoteFile): Promise<string> => {
    for (const name of [file.fileName, file.fileName.replace(/\.bz2$/, '')]) {
      const path = join(dir, name);
      if (await stat(path).then((s) => s.isFile(), () => false)) return path;
    }
    throw new DataError(`${spec.name}: ${dir} has neither ${file.fileName} nor ${file.fileName.replace(/\.bz2$/, '')}`);
  };
  const [trainPath, testPath] = [await find(spec.files.train), await find(spec.files.test)];
  const [train, test] = [await readSplit(trainPath, spec.format), await readSplit(testPath, spec.format)];
  return {
    train: train.set,
    test: test.set,
    contentSha256: { [spec.files.train.fileName.replace(/\.bz2$/, '')]: train.sha256, [spec.files.test.fileName.replace(/\.bz2$/, '')]: test.sha256 },
    paths: [trainPath, testPath],
  };
}
