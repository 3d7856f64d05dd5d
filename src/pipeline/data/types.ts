/**
 * Images stay uint8 until a batch is formed: NHWC, row-major, `channels` 1 (grayscale) or 3 (RGB).
 * Labels are class indices into the owning dataset's `classNames` (before any class subsetting).
 */
import type { ViewPolicy } from './spec.js';

export interface ImageSet {
  readonly images: Uint8Array;
  readonly labels: Int32Array;
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: 1 | 3;
}

export interface LoadedDataset {
  /** Registry name, e.g. `cifar10`, `fashion-mnist`. */
  readonly name: string;
  readonly classNames: readonly string[];
  readonly train: ImageSet;
  readonly test: ImageSet;
  /** sha256 over the sha256s of the files' (decompressed) contents: identifies exactly which data was used. */
  readonly fingerprint: string;
  /** Where the files were read from (directory or archive), for logs and tags. */
  readonly source: string;
  /**
   * True when every file matched the registry's published checksum (downloaded, cached or a verified
   * system copy); false for a user's `data_dir` whose files are not the official ones.
   */
  readonly verified?: boolean;
  /**
   * `folder:PATH` datasets only: files skipped, by reason (`ignored`: not an image; `corrupt`,
   * `truncated`, `too_large`, `unreadable`), summed over the splits. See data/folder-read.ts.
   */
  readonly skipped?: Readonly<Record<string, number>>;
  /** The registry entry's views for pseudo-labels (folder: datasets: FOLDER_VIEWS). */
  readonly views: ViewPolicy;
}
