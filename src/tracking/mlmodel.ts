/**
 * The MLmodel file for the model/ folder. It makes the MLflow UI show the folder as a model (with
 * "Register model"). The flavor is honest: a `transferkit` flavor describing the tfjs layers model
 * and the Keras .h5; no `tensorflow` or `python_function` flavor, whose Python loaders would fail.
 */
import { randomUUID } from 'node:crypto';
import { stringify } from 'yaml';
import type { LoggedModelInfo } from '../mlflow/client.js';

export interface MlmodelInput {
  readonly runId: string;
  readonly artifactPath: string;
  readonly now: number;
  readonly transferkitVersion: string;
  readonly tfjsVersion: string;
  readonly classNames: readonly string[];
  readonly inputSize: number;
}

function utc(now: number): string {
  return new Date(now).toISOString().replace('T', ' ').replace('Z', '000');
}

export function mlmodelInfo(input: MlmodelInput, uuid = randomUUID().replaceAll('-', '')): LoggedModelInfo {
  return {
    artifactPath: input.artifactPath,
    utcTimeCreated: utc(input.now),
    modelUuid: uuid,
    flavors: {
      transferkit: {
        transferkit_version: input.transferkitVersion,
        tfjs_version: input.tfjsVersion,
        tfjs_layers_model: 'model.json',
        keras_h5: 'model.h5',
        input_shape: [input.inputSize, input.inputSize, 3],
        classes: [...input.classNames],
        loader: "tf.loadLayersModel('file://…/model.json') in Node.js; keras.models.load_model('model.h5') in Python",
      },
    },
  };
}

/** YAML text of the MLmodel file. */
export function mlmodelYaml(info: LoggedModelInfo, runId: string): string {
  return stringify(
    {
      artifact_path: info.artifactPath,
      flavors: info.flavors,
      model_uuid: info.modelUuid,
      run_id: runId,
      utc_time_created: info.utcTimeCreated,
    },
  );
}
