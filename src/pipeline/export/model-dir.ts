/**
 * Writes the `model/` folder: the tfjs layers model (model.json + weights), a Keras-loadable
 * model.h5 as in the seed, and transferkit.json. Everything is written into a sibling temp folder
 * that is renamed into place at the end, so a crash never leaves a half model under the real name.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { ExportError } from '../../errors.js';
import { writeKerasH5 } from './keras-h5.js';
import type { Preprocessing } from '../model/spec.js';
import { META_FILE, type ModelMeta } from './meta.js';
import { withPreprocessing } from './self-contained.js';

export interface ExportedModel {
  readonly dir: string;
  readonly files: readonly string[];
}

/**
 * `preprocessing` goes into the graph (export/self-contained.ts), so the saved model takes raw RGB
 * pixels. Extra files (name → content) are written into the folder too, e.g. an MLmodel file.
 */
export async function exportModelDir(
  model: tf.LayersModel,
  dir: string,
  meta: ModelMeta,
  preprocessing: Preprocessing,
  extra: Readonly<Record<string, string>> = {},
): Promise<ExportedModel> {
  const parent = dirname(dir);
  const partial = join(parent, `.${basename(dir)}.partial-${process.pid}`);
  const previous = join(parent, `.${basename(dir)}.old-${process.pid}`);
  try {
    await mkdir(parent, { recursive: true });
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial);
    const exported = withPreprocessing(model, preprocessing);
    try {
      await exported.model.save(`file://${partial}`);
      await writeKerasH5(exported.model, join(partial, 'model.h5'));
    } finally {
      exported.dispose();
    }
    await writeFile(join(partial, META_FILE), `${JSON.stringify(meta, null, 2)}\n`);
    for (const [name, content] of Object.entries(extra)) await writeFile(join(partial, name), content);
    await rm(previous, { recursive: true, force: true });
    await rename(dir, previous).catch((e: unknown) => {
      if (!(e instanceof Error && 'code' in e && e.code === 'ENOENT')) throw e;
    });
    await rename(partial, dir);
    await rm(previous, { recursive: true, force: true });
  } catch (error) {
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw new ExportError(`Could not write the model folder ${dir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return { dir, files: ['model.json', 'weights.bin', 'model.h5', META_FILE, ...Object.keys(extra)] };
}
