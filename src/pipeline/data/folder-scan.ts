/**
 * The layout of a `folder:PATH` dataset: which class folders feed the train and test sets, and the
 * files in each (not read yet). Two layouts:
 * - split: PATH/train/<class>/… and PATH/test/<class>/… (the test folder may instead be named
 *   `validation` or `val` when there is no `test`); the classes are train's;
 * - flat: PATH/<class>/…, split into train and test later (see folder.ts).
 * Class folders are searched recursively. Hidden entries (names starting with ".", e.g. .DS_Store,
 * .ipynb_checkpoints) and anything that is not a file or folder are listed as ignored.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../../errors.js';

export interface ScannedFile {
  /** Absolute path. */
  readonly path: string;
  /** Relative to PATH, with `/` separators: what the fingerprint, the split and the logs use. */
  readonly relPath: string;
}

export interface ClassFolder {
  readonly className: string;
  readonly files: readonly ScannedFile[];
}

export interface SplitFolder {
  /** `all` is the flat layout's pool, split into train and test after reading. */
  readonly split: 'train' | 'test' | 'all';
  readonly classes: readonly ClassFolder[];
  /** Relative paths of hidden and other non-file entries. */
  readonly ignored: readonly string[];
}

export interface FolderLayout {
  readonly kind: 'split' | 'flat';
  readonly splits: readonly SplitFolder[];
  /** Top-level entries of PATH that the split layout does not use (README, a second test folder…). */
  readonly unused: readonly string[];
}

export const TEST_DIR_NAMES = ['test', 'validation', 'val'] as const;

export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const isHidden = (name: string): boolean => name.startsWith('.');

function fsProblem(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'ENOTDIR') return 'is not a directory';
  if (code === 'EACCES' || code === 'EPERM') return `cannot be read: permission denied (${code})`;
  return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
}

/** Sorted entries of a directory, following symlinks; a DataError naming `what` when it cannot be listed. */
async function entries(dir: string, what: string): Promise<{ name: string; kind: 'dir' | 'file' | 'other' }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw new DataError(`${what} ${dir} ${fsProblem(error)}`, { cause: error });
  }
  const out = await Promise.all(names.sort(byCodeUnit).map(async (name) => {
    const s = await stat(join(dir, name)).catch(() => undefined); // a dangling symlink is "other"
    return { name, kind: s?.isDirectory() === true ? 'dir' as const : s?.isFile() === true ? 'file' as const : 'other' as const };
  }));
  return out;
}

/** Files under a class folder, recursively, in sorted path order. */
async function classFiles(dir: string, rel: string, ignored: string[], depth = 0): Promise<ScannedFile[]> {
  if (depth > 32) throw new DataError(`folder ${dir} is nested more than 32 levels deep (a symlink loop?)`);
  const files: ScannedFile[] = [];
  for (const entry of await entries(dir, 'class folder')) {
    const relPath = `${rel}/${entry.name}`;
    if (isHidden(entry.name) || entry.kind === 'other') ignored.push(relPath);
    else if (entry.kind === 'dir') files.push(...(await classFiles(join(dir, entry.name), relPath, ignored, depth + 1)));
    else files.push({ path: join(dir, entry.name), relPath });
  }
  return files;
}

/** The class folders directly under `dir` (`rel` relative to PATH, '' for PATH itself). */
async function splitFolder(dir: string, rel: string, split: SplitFolder['split'], what: string): Promise<SplitFolder> {
  const ignored: string[] = [];
  const classes: ClassFolder[] = [];
  for (const entry of await entries(dir, what)) {
    const relPath = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (isHidden(entry.name) || entry.kind !== 'dir') ignored.push(relPath);
    else classes.push({ className: entry.name, files: await classFiles(join(dir, entry.name), relPath, ignored) });
  }
  const expected = 'expected PATH/<class>/<images>, or PATH/train/<class>/<images> with PATH/test/<class>/<images>';
  if (split !== 'test' && classes.length === 0) throw new DataError(`${what} ${dir} has no class subfolders; ${expected}`);
  if (split !== 'test' && classes.length === 1) {
    throw new DataError(`${what} ${dir} has 1 class subfolder (${classes[0]?.className ?? ''}); a classifier needs at least 2`);
  }
  for (const c of classes) {
    if (c.files.length === 0) throw new DataError(`class folder ${join(dir, c.className)} (class "${c.className}") is empty: no files to read images from`);
  }
  return { split, classes, ignored };
}

/** Reads the layout of PATH (`root`, absolute); `label` is the dataset name for messages. */
export async function scanFolder(root: string, label: string): Promise<FolderLayout> {
  const rootStat = await stat(root).catch((error: unknown) => {
    throw new DataError(`dataset ${label}: ${root} ${fsProblem(error)}${root.includes('~') ? ' (~ is not expanded)' : ''}`, { cause: error });
  });
  if (!rootStat.isDirectory()) throw new DataError(`dataset ${label}: ${root} is a file, expected a directory of class folders`);
  const top = await entries(root, `dataset ${label}: folder`);
  const dirs = new Set(top.filter((e) => e.kind === 'dir').map((e) => e.name));
  const testName = TEST_DIR_NAMES.find((n) => dirs.has(n));
  if (!dirs.has('train') && testName === undefined) {
    return { kind: 'flat', splits: [await splitFolder(root, '', 'all', `dataset ${label}: folder`)], unused: [] };
  }
  if (!dirs.has('train') || testName === undefined) {
    const has = dirs.has('train') ? 'train/' : `${testName ?? ''}/`;
    throw new DataError(
      `dataset ${label}: ${root} has ${has} but no ${dirs.has('train') ? 'test/ (or validation/, val/)' : 'train/'}; ` +
        'give both train/ and test/, or put the class folders directly in PATH to have a test split taken from them',
    );
  }
  const train = await splitFolder(join(root, 'train'), 'train', 'train', 'training folder');
  const test = await splitFolder(join(root, testName), testName, 'test', 'test folder');
  const trainNames = train.classes.map((c) => c.className);
  const testNames = new Set(test.classes.map((c) => c.className));
  const extra = [...testNames].filter((n) => !trainNames.includes(n));
  if (extra.length > 0) {
    throw new DataError(
      `dataset ${label}: ${testName}/ has class folder${extra.length > 1 ? 's' : ''} ${extra.map((n) => `"${n}"`).join(', ')} that train/ does not have; the classes are train/'s: ${trainNames.join(', ')}`,
    );
  }
  const missing = trainNames.filter((n) => !testNames.has(n));
  if (missing.length > 0) {
    throw new DataError(
      `dataset ${label}: class${missing.length > 1 ? 'es' : ''} ${missing.map((n) => `"${n}"`).join(', ')} of train/ ${missing.length > 1 ? 'have' : 'has'} no folder in ${testName}/; every class needs test images`,
    );
  }
  const unused = top.map((e) => e.name).filter((n) => n !== 'train' && n !== testName);
  return { kind: 'split', splits: [train, test], unused };
}
