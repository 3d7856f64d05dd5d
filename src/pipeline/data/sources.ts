/**
 * Where a registry dataset's files are read from: the user's `data_dir` (as is, checksums only
 * reported), a verified system copy (Debian's), or the download cache filled from the official URLs
 * (always verified). Each returns the images, the content hashes and whether they are official.
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ChecksumError, DataError } from '../../errors.js';
import { datasetCacheDir } from '../cache-dirs.js';
import { ensureFile, verifyFile } from '../download.js';
import type { Checksum, DownloadLogger } from '../download.js';
import { readCifar10 } from './cifar.js';
import { idxImageSet, readIdxFile } from './idx.js';
import type { DatasetSpec, IdxDatasetSpec, LoadDatasetOptions, RemoteFile } from './spec.js';
import type { ImageSet } from './types.js';
import { loadLibsvmDir } from './usps.js';

/** What one source produced: images plus the content hashes and verification outcome. */
export interface Loaded {
  readonly train: ImageSet;
  readonly test: ImageSet;
  readonly contentSha256: Readonly<Record<string, string>>;
  readonly verified: boolean;
  readonly source: string;
}

export async function loadOfficial(spec: DatasetSpec, options: LoadDatasetOptions): Promise<Loaded> {
  const { logger } = options;
  if (spec.loader === 'idx') {
    for (const dir of spec.systemDirs) {
      if (!(await isDirectory(dir))) continue;
      const loaded = await loadIdxDir(spec, dir, logger, 'system');
      if (loaded.verified) return loaded;
      logger.warn(`${spec.name}: ignoring ${dir}: its files do not have the official content checksums`);
    }
  }
  const cacheDir = join(resolve(options.cacheDir ?? datasetCacheDir(options.env ?? process.env)), spec.name);
  const fetchFile = (file: RemoteFile): Promise<string> => ensureFile({
    url: file.urls[0] ?? '',
    mirrors: file.urls.slice(1),
    fileName: file.fileName,
    cacheDir,
    checksum: file.checksum,
    fetch: options.fetch,
    logger,
    allowedHosts: spec.allowedHosts ?? [],
    ...(options.progress === undefined ? {} : { progress: options.progress }),
  });
  if (spec.loader === 'libsvm-bz2') {
    for (const file of Object.values(spec.files)) await fetchFile(file);
    return { ...(await loadLibsvmDir(spec, cacheDir)), verified: true, source: cacheDir };
  }
  if (spec.loader === 'cifar10-binary') {
    const archive = await fetchFile(spec.files.archive);
    const content = await readCifar10(archive);
    return { ...content, verified: true };
  }
  for (const file of Object.values(spec.files)) await fetchFile(file);
  const loaded = await loadIdxDir(spec, cacheDir, logger, 'cache');
  if (!loaded.verified) throw new ChecksumError(`${spec.name}: files in ${cacheDir} passed their download checksums but not the registry's content checksums`);
  return loaded;
}

export async function loadLocal(spec: DatasetSpec, dir: string, logger: DownloadLogger): Promise<Loaded> {
  if (!(await isDirectory(dir))) throw new DataError(`data_dir ${dir} is not a directory`);
  if (spec.loader === 'idx') return loadIdxDir(spec, dir, logger, 'local');
  if (spec.loader === 'libsvm-bz2') {
    const content = await loadLibsvmDir(spec, dir);
    const official = [spec.files.train, spec.files.test];
    const checks = await Promise.all(content.paths.map(async (path, i) => path.endsWith('.bz2') && await matches(path, official[i]?.checksum ?? { algorithm: 'md5', hex: '' }, logger, spec.name)));
    return { ...content, verified: checks.every(Boolean), source: dir };
  }
  const content = await readCifar10(dir);
  let verified = false;
  if (content.source.endsWith(spec.files.archive.fileName)) {
    verified = await matches(content.source, spec.files.archive.checksum, logger, spec.name);
  } else {
    logger.info(`${spec.name}: reading extracted files in ${content.source} as is (no published checksums for them)`);
  }
  if (content.metaClassNames !== undefined && content.metaClassNames.join('\n') !== spec.classNames.join('\n')) {
    logger.warn(`${spec.name}: batches.meta.txt in ${content.source} lists ${content.metaClassNames.join(', ')}, not the registry's class names`);
  }
  return { ...content, verified };
}

const IDX_ROLES = ['trainImages', 'trainLabels', 'testImages', 'testLabels'] as const;

/** Reads the four IDX files of `dir` (`NAME.gz` or uncompressed `NAME`), gunzipping in parallel. */
async function loadIdxDir(spec: IdxDatasetSpec, dir: string, logger: DownloadLogger, kind: 'local' | 'system' | 'cache'): Promise<Loaded> {
  // every file is located before any is read, so a missing one is named in the roles' order (not
  // whichever check happened to finish first)
  const paths = await Promise.all(IDX_ROLES.map((role) => {
    const file = spec.files[role];
    return firstFile([join(dir, file.fileName), join(dir, file.fileName.replace(/\.gz$/, ''))]);
  }));
  const read = await Promise.all(IDX_ROLES.map(async (role, i) => {
    const file = spec.files[role];
    const plain = file.fileName.replace(/\.gz$/, '');
    const path = paths[i];
    if (path === undefined) throw new DataError(`${spec.name}: ${dir} has neither ${file.fileName} nor ${plain}`);
    const content = await readIdxFile(path);
    let verified: boolean;
    if (file.contentSha256 !== undefined) {
      verified = content.contentSha256 === file.contentSha256;
      if (!verified && kind === 'local') {
        logger.warn(`${spec.name}: ${path} is not the official file (content sha256 ${content.contentSha256}, official ${file.contentSha256}); using it as is`);
      }
    } else {
      verified = kind === 'cache' || (path.endsWith('.gz') && await matches(path, file.checksum, logger, spec.name));
    }
    return { plain, path, content, verified };
  }));
  const [trainImages, trainLabels, testImages, testLabels] = read.map((r) => ({ bytes: r.content.bytes, source: r.path }));
  if (trainImages === undefined || trainLabels === undefined || testImages === undefined || testLabels === undefined) {
    throw new Error('unreachable: four IDX roles');
  }
  const n = spec.classNames.length;
  return {
    train: idxImageSet(trainImages, trainLabels, n),
    test: idxImageSet(testImages, testLabels, n),
    contentSha256: Object.fromEntries(read.map((r) => [r.plain, r.content.contentSha256])),
    verified: read.every((r) => r.verified),
    source: dir,
  };
}

async function matches(path: string, checksum: Checksum, logger: DownloadLogger, name: string): Promise<boolean> {
  const { ok, actual } = await verifyFile(path, checksum);
  if (!ok) logger.warn(`${name}: ${path} is not the official file (${checksum.algorithm} ${actual}, official ${checksum.hex}); using it as is`);
  return ok;
}

async function firstFile(paths: readonly string[]): Promise<string | undefined> {
  for (const path of paths) if (await stat(path).then((s) => s.isFile(), () => false)) return path;
  return undefined;
}

async function isDirectory(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}
