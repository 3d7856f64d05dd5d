/**
 * Every command's parameters as people read them: name, default (as MLproject writes it), allowed
 * values and meaning, taken from the zod schemas, their field metadata and the description maps
 * beside them. `--help` (./help.ts) and docs/parameters.md (./markdown.ts) are both rendered from it.
 */
import { z } from 'zod';
import { outputParamDocs, outputParamsSchema } from '../output/options.js';
import { fieldInfo } from '../pipeline/params/fields.js';
import { trainParamDocs, trainParamsSchema } from '../pipeline/params/train.js';
import { recommendParamDocs, recommendParamsSchema } from '../pipeline/recommend/params.js';
import { predictParamDocs, predictParamsSchema } from '../predict/params.js';
import { serveParamDocs, serveParamsSchema } from '../serve/params.js';
import { sweepParamDocs, sweepParamsSchema } from '../sweep/spec.js';

export const COMMAND_NAMES = ['train', 'sweep', 'recommend', 'predict', 'serve'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

export const isCommand = (name: string): name is CommandName => (COMMAND_NAMES as readonly string[]).includes(name);

export interface ParamRow {
  readonly name: string;
  /** As MLproject writes it; undefined = required. */
  readonly defaultText: string | undefined;
  readonly allowed: string;
  readonly meaning: string;
}

export interface CommandDoc {
  readonly name: CommandName;
  /** The MLproject entry point running it, if any. */
  readonly entryPoint: string | undefined;
  readonly summary: string;
  readonly usage: string;
  readonly examples: readonly string[];
  readonly note?: string;
  readonly params: readonly ParamRow[];
}

export function paramRows(schema: z.ZodObject, docs: Readonly<Record<string, string>>): ParamRow[] {
  return Object.entries(schema.shape).map(([name, field]) => {
    const info = field instanceof z.ZodType ? fieldInfo(field) : undefined;
    if (info === undefined) throw new Error(`parameter ${name} has no field metadata (build it with src/pipeline/params/fields.ts)`);
    return { name, defaultText: info.defaultText, allowed: info.expected, meaning: docs[name] ?? '' };
  });
}

export const COMMANDS: readonly CommandDoc[] = [
  {
    name: 'train',
    entryPoint: 'main',
    summary: 'Transfer a pretrained backbone to a dataset: train, evaluate on the test set, export the model, track the run in MLflow.',
    usage: 'transferkit train [--name value ...]',
    examples: [
      'transferkit train --dataset cifar10 --samples_per_class 300 --retrained_conv_layers 2 --max_epochs 20',
      'mlflow run . --env-manager local -P dataset=fashion-mnist -P backbone=small-cnn -P weights=none',
    ],
    params: paramRows(trainParamsSchema, trainParamDocs),
  },
  {
    name: 'sweep',
    entryPoint: 'sweep',
    summary: 'Run train over a grid of parameters, one nested MLflow run per point; the best point by validation accuracy.',
    usage: 'transferkit sweep --grid "name=v1,v2;name2=..." [--any_train_parameter value ...]',
    examples: ['transferkit sweep --grid "retrained_conv_layers=0,1,2;samples_per_class=30,100" --max_epochs 5'],
    note: 'Any train parameter given as a flag (or -P under mlflow run) is fixed for every point.',
    params: paramRows(sweepParamsSchema, sweepParamDocs),
  },
  {
    name: 'recommend',
    entryPoint: 'recommend',
    summary: 'Measure the label budget and the similarity of source and target domains on frozen features, and advise what to retrain.',
    usage: 'transferkit recommend [--name value ...]',
    examples: ['transferkit recommend --dataset fashion-mnist --classes 5-9 --samples_per_class 100 --backbone small-cnn --weights out/source/model'],
    params: paramRows(recommendParamsSchema, recommendParamDocs),
  },
  {
    name: 'predict',
    entryPoint: 'predict',
    summary: 'Classify images with a trained model; writes a predictions file (CSV or JSON) and prints a summary.',
    usage: 'transferkit predict --model MODEL [--name value ...] INPUT...',
    examples: ['transferkit predict --model out/<run>/model photos/', 'transferkit predict --model runs:/<run id>/model --input dataset:fashion-mnist --classes 5-9'],
    note: 'Inputs (image files, folders, dataset:NAME) follow the flags; --input gives one when there are none.',
    params: paramRows(predictParamsSchema, predictParamDocs),
  },
  {
    name: 'serve',
    entryPoint: undefined,
    summary: 'Serve a model over HTTP, wire-compatible with mlflow models serve (POST /invocations), plus POST /predict-image for raw image files.',
    usage: 'transferkit serve --model MODEL [--host 127.0.0.1] [--port 5000] ...',
    examples: ['transferkit serve --model out/<run>/model --port 5000'],
    params: paramRows(serveParamsSchema, serveParamDocs),
  },
];

/** The options every command takes about its output (src/output/options.ts). */
export const OUTPUT_PARAMS: readonly ParamRow[] = paramRows(outputParamsSchema, outputParamDocs);

export function commandDoc(name: CommandName): CommandDoc {
  const doc = COMMANDS.find((c) => c.name === name);
  if (doc === undefined) throw new Error(`no documentation for command ${name}`);
  return doc;
}
