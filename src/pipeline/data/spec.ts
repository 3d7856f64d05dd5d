/**
 * The shapes of the dataset registry's entries (./registry.ts) and of `loadDataset`'s options: types
 * only, so the readers (./sources.ts) and the registry both depend on them, not on each other.
 */
import type { Progress } from '../progress.js';
import type { CacheEnv, Checksum, DownloadLogger, FetchFn } from '../download.js';
import type { Augmentation } from '../params/fields.js';
import type { LibsvmDatasetSpec } from './usps.js';

/**
 * The augmentations that keep an image's class, as FixMatch's two views of an unlabelled image
 * (pseudo_label): `weak` (the prediction that becomes the pseudo-label) and `strong` (trained to give
 * it). A property of the data: a mirrored digit is another glyph or none, a mirrored shirt is a shirt.
 */
export interface ViewPolicy {
  readonly weak: readonly Augmentation[];
  readonly strong: readonly Augmentation[];
}

export interface RemoteFile {
  /** Name in the cache and in a local data directory. */
  readonly fileName: string;
  /** Official https URL first, then mirrors serving the identical file. */
  readonly urls: readonly string[];
  /** Checksum of the file as published (verifies every download and cached copy). */
  readonly checksum: Checksum;
  /** sha256 of the decompressed content (IDX): verifies copies recompressed by others (Debian). */
  readonly contentSha256?: string;
}

interface DatasetSpecBase {
  readonly name: string;
  readonly description: string;
  readonly homepage: string;
  readonly classNames: readonly string[];
  readonly imageShape: { readonly height: number; readonly width: number; readonly channels: 1 | 3 };
  /** Hosts besides the URLs' own that a download may be redirected to. */
  readonly allowedHosts?: readonly string[];
  /** Views of its unlabelled images for pseudo-labels (./views.ts). */
  readonly views: ViewPolicy;
}

export interface IdxDatasetSpec extends DatasetSpecBase {
  readonly loader: 'idx';
  readonly files: { readonly trainImages: RemoteFile; readonly trainLabels: RemoteFile; readonly testImages: RemoteFile; readonly testLabels: RemoteFile };
  /** Read-only system copies (e.g. Debian packages), used when their content checksums match. */
  readonly systemDirs: readonly string[];
}

export interface Cifar10DatasetSpec extends DatasetSpecBase {
  readonly loader: 'cifar10-binary';
  readonly files: { readonly archive: RemoteFile };
}

export type DatasetSpec = IdxDatasetSpec | Cifar10DatasetSpec | LibsvmDatasetSpec;

export interface LoadDatasetOptions {
  readonly name: string;
  /** A local directory with the dataset's files, read as is (see the module comment). */
  readonly dataDir?: string;
  /** Download cache root; files go to `cacheDir/<name>/`. Default: `datasetCacheDir(env)`. */
  readonly cacheDir?: string;
  readonly fetch: FetchFn;
  readonly logger: DownloadLogger;
  readonly env?: CacheEnv;
  /** A bar per download. */
  readonly progress?: Progress;
  /** Override the registry (tests). */
  readonly registry?: readonly DatasetSpec[];
  /** `folder:PATH` datasets (required for them): the side every image is resized to, the model's input size. */
  readonly imageSize?: number;
}
