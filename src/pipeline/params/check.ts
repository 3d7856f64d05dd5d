/** Checks that need more than one parameter, or the backbone: done before any work starts. */
import { ParamError } from '../../errors.js';
import type { BackboneSpec } from '../model/backbones.js';
import { checkFewLabelParams } from './few-label.js';
import type { TrainParams } from './train.js';

/** The input side the run uses (0 = the backbone's default), after checking it against the backbone. */
export function checkTrainParams(params: TrainParams, spec: BackboneSpec): { inputSize: number } {
  const inputSize = params.input_size === 0 ? spec.defaultInputSize : params.input_size;
  if (inputSize < spec.minInputSize) {
    throw new ParamError(
      'input_size',
      `Parameter "input_size" must be at least ${spec.minInputSize} for backbone ${spec.name} (or 0 for its default ${spec.defaultInputSize}), got ${inputSize} (number)`,
    );
  }
  if (params.use_early_stop && params.validation_fraction === 0) {
    throw new ParamError(
      'validation_fraction',
      'Parameter "validation_fraction" must be above 0 when use_early_stop is 1 (early stopping watches the validation loss), got 0 (number)',
    );
  }
  checkFewLabelParams(params, spec);
  return { inputSize };
}
