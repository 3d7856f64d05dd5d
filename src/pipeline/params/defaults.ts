/** Every train parameter at its default, parsed once from the schema (what "given" is compared with). */
import { parseParams } from './parse.js';
import { trainParamsSchema, type TrainParams } from './train.js';

export const TRAIN_DEFAULTS: TrainParams = parseParams(trainParamsSchema, {});
