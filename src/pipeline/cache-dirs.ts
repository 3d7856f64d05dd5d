/** Where downloads are cached: Keras's own folder for Keras's files, transferkit's for the rest. */
import { join, resolve } from 'node:path';
import { DownloadError } from '../errors.js';
import type { CacheEnv } from './download.js';

/** Keras's home: `$KERAS_HOME`, else `$HOME/.keras`. */
export function kerasHome(env: CacheEnv): string {
  const explicit = env['KERAS_HOME'];
  if (explicit !== undefined && explicit !== '') return resolve(explicit);
  return join(homeDir(env), '.keras');
}

/** Where Keras caches weights (`~/.keras/models`), so files Keras already downloaded are reused. */
export function kerasModelsDir(env: CacheEnv): string {
  return join(kerasHome(env), 'models');
}

/**
 * transferkit's cache root: `$TRANSFERKIT_CACHE`, else `$XDG_CACHE_HOME/transferkit`, else
 * `$HOME/.cache/transferkit`.
 */
export function transferkitCacheDir(env: CacheEnv): string {
  const own = env['TRANSFERKIT_CACHE'];
  if (own !== undefined && own !== '') return resolve(own);
  const xdg = env['XDG_CACHE_HOME'];
  if (xdg !== undefined && xdg !== '') return join(resolve(xdg), 'transferkit');
  return join(homeDir(env), '.cache', 'transferkit');
}

/**
 * transferkit's dataset cache: `<cache root>/datasets`.
 * Deliberately not `~/.keras/datasets`: files another tool put there must never be deleted as "corrupt".
 */
export function datasetCacheDir(env: CacheEnv): string {
  return join(transferkitCacheDir(env), 'datasets');
}

function homeDir(env: CacheEnv): string {
  const home = env['HOME'];
  if (home === undefined || home === '') {
    throw new DownloadError('cannot place the download cache: HOME is not set (set HOME, KERAS_HOME or TRANSFERKIT_CACHE)');
  }
  return resolve(home);
}
