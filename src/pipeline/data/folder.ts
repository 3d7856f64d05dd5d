/**
 * `folder:PATH` datasets: the user's own images, one subfolder per class (layouts in folder-scan.ts),
 * decoded one file at a time and resized to the model's input side as uint8 RGB. Files that are not
 * images, or cannot be used, are skipped and counted (folder-read.ts); the counts are logged per
 * split and returned as `skipped` for the run's tags.
 *
 * Flat layout test split: per class, the `round(20%)` files (at least 1 when the class has 2 or
 * more usable images) whose sha256(relative path) sorts first. It depends on the file names only,
 * not on the run's seed, so the test set is the same on every run.
 */
import { FOLDER_VIEWS } from './views.js';
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { DataError, ParamError } from '../../errors.js';
import type { CacheEnv, DownloadLogger } from '../download.js';
import { type SplitFolder, byCodeUnit, scanFolder } from './folder-scan.js';
import { SKIP_REASONS, type SkipReason, readImageFile } from './folder-read.js';
import { type ImageDecoder, withNativeDecoder } from './image-decode.js';
import type { ImageSet, LoadedDataset } from './types.js';

export const DEFAULT_MAX_PIXELS = 40_000_000;
export const MAX_PIXELS_ENV = 'TRANSFERKIT_MAX_IMAGE_PIXELS';
export const FOLDER_TEST_FRACTION = 0.2;

export interface FolderDatasetOptions {
  /** The dataset name as given (`folder:PATH`), for messages and `LoadedDataset.name`. */
  readonly name: string;
  /** PATH: the folder, absolute or relative to the working directory. */
  readonly path: string;
  /** Side of the square every image is resized to (the model's input size). */
  readonly imageSize: number;
  readonly logger: DownloadLogger;
  /** Reads TRANSFERKIT_MAX_IMAGE_PIXELS. */
  readonly env?: CacheEnv;
  /** Images with more pixels are skipped before decoding. Default: env, else 40,000,000. */
  readonly maxPixels?: number;
  /** Default: tfjs-node's native decoders. */
  readonly decoder?: ImageDecoder;
}

interface Image { readonly relPath: string; readonly label: number; readonly pixels: Uint8Array; readonly sha256: string }
/** Relative paths of the skipped files, by reason; the detail of the first one. */
type Tally = { [R in SkipReason]: string[] } & { first: Partial<Record<SkipReason, string>> };

const emptyTally = (): Tally => ({ ignored: [], corrupt: [], truncated: [], too_large: [], unreadable: [], first: {} });

export function resolveMaxPixels(options: Pick<FolderDatasetOptions, 'env' | 'maxPixels'>): number {
  if (options.maxPixels !== undefined) {
    if (!Number.isSafeInteger(options.maxPixels) || options.maxPixels < 1) throw new RangeError(`maxPixels must be a positive integer, got ${options.maxPixels}`);
    return options.maxPixels;
  }
  const raw = options.env?.[MAX_PIXELS_ENV]?.trim();
  if (raw === undefined || raw === '') return DEFAULT_MAX_PIXELS;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(value) || value < 1) {
    throw new ParamError(MAX_PIXELS_ENV, `${MAX_PIXELS_ENV}=${JSON.stringify(raw)} is not a positive integer number of pixels (default ${DEFAULT_MAX_PIXELS})`);
  }
  return value;
}

export async function loadFolderDataset(options: FolderDatasetOptions): Promise<LoadedDataset> {
  const { name, imageSize, logger } = options;
  if (options.path.trim() === '') throw new ParamError('dataset', `dataset ${JSON.stringify(name)} has no path; expected folder:PATH, e.g. folder:/data/cats-and-dogs`);
  if (!Number.isSafeInteger(imageSize) || imageSize < 1) {
    throw new DataError(`dataset ${name}: the image size to resize to must be a positive integer (the model's input size), got ${imageSize}`);
  }
  const maxPixels = resolveMaxPixels(options);
  const root = resolve(options.path);
  const layout = await scanFolder(root, name);
  const classNames = layout.splits[0]?.classes.map((c) => c.className) ?? [];
  if (layout.unused.length > 0) logger.info(`${name}: not read: ${layout.unused.join(', ')} (only train/ and the test folder are)`);

  const readAll = async (decoder: ImageDecoder): Promise<{ split: SplitFolder['split']; images: Image[]; tally: Tally }[]> => {
    const out = [];
    for (const split of layout.splits) out.push({ split: split.split, ...(await readSplit(split, { name, imageSize, maxPixels, decoder, classNames, logger })) });
    return out;
  };
  const splits = await (options.decoder === undefined ? withNativeDecoder(readAll) : readAll(options.decoder));
  const pick = (s: SplitFolder['split']): Image[] => splits.find((x) => x.split === s)?.images ?? [];
  const [train, test] = layout.kind === 'split' ? [pick('train'), pick('test')] : testSplit(pick('all'), classNames, name);

  const skipped: Record<string, number> = {};
  for (const reason of SKIP_REASONS) skipped[reason] = splits.reduce((n, s) => n + s.tally[reason].length, 0);
  const fingerprint = folderFingerprint([['train', train], ['test', test]], imageSize);
  const dataset: LoadedDataset = {
    name, classNames, fingerprint, source: root, verified: false, skipped, views: FOLDER_VIEWS,
    train: imageSet(train, imageSize), test: imageSet(test, imageSize),
  };
  logger.info(
    `${name}: ${train.length} train / ${test.length} test images in ${classNames.length} classes (${classNames.join(', ')}) from ${root}, ` +
      `resized to ${imageSize}×${imageSize} (fingerprint ${fingerprint.slice(0, 12)}, local data)`,
  );
  return dataset;
}

interface ReadContext {
  readonly name: string;
  readonly imageSize: number;
  readonly maxPixels: number;
  readonly decoder: ImageDecoder;
  readonly classNames: readonly string[];
  readonly logger: DownloadLogger;
}

/** Reads every file of one split, one at a time; a class left with no image is an error. */
async function readSplit(split: SplitFolder, ctx: ReadContext): Promise<{ images: Image[]; tally: Tally }> {
  const tally = emptyTally();
  tally.ignored.push(...split.ignored);
  const images: Image[] = [];
  for (const folder of split.classes) {
    const label = ctx.classNames.indexOf(folder.className);
    const before = images.length;
    const mine = emptyTally();
    for (const file of folder.files) {
      const outcome = await readImageFile(file.path, ctx);
      if (outcome.kind === 'image') {
        images.push({ relPath: file.relPath, label, pixels: outcome.pixels, sha256: outcome.sha256 });
        continue;
      }
      for (const t of [tally, mine]) {
        t[outcome.kind].push(file.relPath);
        t.first[outcome.kind] ??= outcome.detail;
      }
    }
    if (images.length === before) {
      const where = split.split === 'all' ? folder.className : `${split.split === 'train' ? 'train' : 'test'}/${folder.className}`;
      throw new DataError(`dataset ${ctx.name}: class "${folder.className}" (${where}/) has no usable image: all ${folder.files.length} of its files were skipped (${describeTally(mine)})`);
    }
  }
  const problems = SKIP_REASONS.some((r) => r !== 'ignored' && tally[r].length > 0);
  const line = `${ctx.name} ${split.split === 'all' ? 'all classes' : split.split}: kept ${images.length}; ${describeTally(tally, true)}`;
  if (problems) ctx.logger.warn(line);
  else ctx.logger.info(line);
  return { images, tally };
}

/** `ignored 2 (README.txt, cat/.DS_Store); corrupt 1 (cat/x.png [PNG decode failed: …]); …` */
function describeTally(tally: Tally, withZeros = false): string {
  return SKIP_REASONS.filter((r) => withZeros || tally[r].length > 0).map((r) => {
    const names = tally[r];
    if (names.length === 0) return `${r} 0`;
    const examples = names.slice(0, 3).map((n, i) => (i === 0 && r !== 'ignored' && tally.first[r] !== undefined ? `${n} [${tally.first[r]}]` : n));
    return `${r} ${names.length} (${examples.join(', ')}${names.length > 3 ? ', …' : ''})`;
  }).join('; ');
}

const pathKey = (relPath: string): string => createHash('sha256').update(relPath).digest('hex');

/** The flat layout's held-out test split (see the module comment). */
function testSplit(images: readonly Image[], classNames: readonly string[], name: string): [Image[], Image[]] {
  const testPaths = new Set<string>();
  classNames.forEach((className, label) => {
    const mine = images.filter((im) => im.label === label);
    if (mine.length < 2) {
      throw new DataError(
        `dataset ${name}: class "${className}" has ${mine.length} usable image; with no train/ and test/ folders each class needs at least 2 (${Math.round(FOLDER_TEST_FRACTION * 100)}%, at least 1, is held out for testing)`,
      );
    }
    const held = Math.max(1, Math.round(mine.length * FOLDER_TEST_FRACTION));
    mine.map((im) => ({ key: pathKey(im.relPath), relPath: im.relPath }))
      .sort((a, b) => byCodeUnit(a.key, b.key))
      .slice(0, held)
      .forEach((x) => testPaths.add(x.relPath));
  });
  return [images.filter((im) => !testPaths.has(im.relPath)), images.filter((im) => testPaths.has(im.relPath))];
}

/** sha256 over sorted `split, relative path, sha256 of the file` lines plus the image size. */
function folderFingerprint(splits: readonly (readonly [string, readonly Image[]])[], imageSize: number): string {
  const lines = splits.flatMap(([split, images]) => images.map((im) => `${split}\t${im.relPath}\t${im.sha256}\n`)).sort(byCodeUnit);
  return createHash('sha256').update(lines.join('')).update(`image_size\t${imageSize}\n`).digest('hex');
}

function imageSet(images: readonly Image[], size: number): ImageSet {
  const stride = size * size * 3;
  const pixels = new Uint8Array(images.length * stride);
  const labels = new Int32Array(images.length);
  images.forEach((im, i) => {
    pixels.set(im.pixels, i * stride);
    labels[i] = im.label;
  });
  return { images: pixels, labels, count: images.length, height: size, width: size, channels: 3 };
}

/** The run tags for a folder dataset's skip counts (`transferkit.data_skipped_corrupt` …); none for others. */
export function folderTags(dataset: LoadedDataset): Record<string, string> {
  const skipped = dataset.skipped ?? {};
  return Object.fromEntries(Object.entries(skipped).map(([reason, n]) => [`transferkit.data_skipped_${reason}`, String(n)]));
}
