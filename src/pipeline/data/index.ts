export type { ImageSet, LoadedDataset } from './types.js';
export { parseIdx, readIdxFile, idxImageSet } from './idx.js';
export type { IdxArray, IdxFileContent } from './idx.js';
export { tarEntries, readTarGz } from './tar.js';
export type { TarEntry } from './tar.js';
export {
  CIFAR10_ARCHIVE, CIFAR10_DIR, CIFAR10_META_FILE, CIFAR10_TEST_FILE, CIFAR10_TRAIN_FILES,
  decodeCifarBatches, planarToInterleaved, readCifar10,
} from './cifar.js';
export type { Cifar10Content, CifarBatchBytes } from './cifar.js';
export {
  CIFAR10, DATASETS, FASHION_MNIST, FOLDER_PREFIX, MNIST, datasetNames, getDatasetSpec, loadDataset,
} from './registry.js';
export type { Cifar10DatasetSpec, DatasetSpec, IdxDatasetSpec, LoadDatasetOptions, RemoteFile } from './registry.js';
export { parseClassSpec, selectClasses } from './classes.js';
export { DEFAULT_MAX_PIXELS, MAX_PIXELS_ENV, folderTags, loadFolderDataset } from './folder.js';
export type { FolderDatasetOptions } from './folder.js';
export {
  balancedSplit, deriveSeed, epochOrder, mulberry32, permutation, shuffleInPlace, subsetImageSet,
} from './sample.js';
export type { BalancedSplitOptions, Rng } from './sample.js';
export { USPS, loadLibsvmDir } from './usps.js';
export type { LibsvmDatasetSpec } from './usps.js';
export { bunzip2, parseLibsvmImages } from './libsvm.js';
