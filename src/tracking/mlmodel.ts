/**
 * The MLmodel file of the model/ folder, which makes the folder an MLflow Model:
 * - `tensorflow` (MLflow's own flavor, model_type keras, save_format h5) over the Keras `model.h5`
 *   that the export writes, and `python_function` with `loader_module: mlflow.tensorflow`, so
 *   `mlflow.pyfunc.load_model` and `mlflow models serve` work on it. Both have `data: .`: MLflow's
 *   loader opens `<data>/model.h5` (mlflow/tensorflow `_load_keras_model`: `<data>/model` + `.h5`),
 *   which with `.` is the folder's own model.h5, so the file is neither moved nor copied.
 * - `transferkit`, describing the tfjs layers model and the input contract, beside them.
 * No `keras` flavor: MLflow prefers it and its loader wants a Keras 3 `data/model.keras` zip.
 * The signature says what the model takes: raw RGB pixels, float32 [-1, H, W, 3]; probabilities out.
 */
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { LoggedModelInfo } from '../mlflow/client.js';
import {
  ENV_FILES,
  INPUT_EXAMPLE_FILE,
  KERAS_MODULE_FILE,
  MODEL_RUNTIME,
  SAVE_FORMAT_FILE,
  SERVING_INPUT_EXAMPLE_FILE,
  envFiles,
  greyImageJson,
} from './model-env.js';

export interface MlmodelInput {
  readonly artifactPath: string;
  readonly now: number;
  readonly transferkitVersion: string;
  readonly tfjsVersion: string;
  readonly classNames: readonly string[];
  readonly inputSize: number;
  /** MLflow 3's logged model id (`m-…`), when the model was logged as one. */
  readonly modelId?: string;
}

function utc(now: number): string {
  return new Date(now).toISOString().replace('T', ' ').replace('Z', '000');
}

export function mlmodelInfo(input: MlmodelInput, uuid = randomUUID().replaceAll('-', '')): LoggedModelInfo {
  return {
    artifactPath: input.artifactPath,
    utcTimeCreated: utc(input.now),
    // MLflow 3 uses the logged model's id as the model's uuid
    modelUuid: input.modelId ?? uuid,
    flavors: {
      python_function: {
        loader_module: 'mlflow.tensorflow',
        data: '.',
        env: { conda: ENV_FILES.conda, virtualenv: ENV_FILES.virtualenv },
        python_version: MODEL_RUNTIME.python,
      },
      tensorflow: {
        code: null,
        data: '.',
        model_type: 'keras',
        save_format: 'h5',
        keras_version: MODEL_RUNTIME.tensorflow,
      },
      transferkit: {
        transferkit_version: input.transferkitVersion,
        tfjs_version: input.tfjsVersion,
        tfjs_layers_model: 'model.json',
        keras_h5: 'model.h5',
        input_shape: [input.inputSize, input.inputSize, 3],
        input: 'raw RGB pixels 0-255, float32 (the preprocessing is the first layer); see transferkit.json "input"',
        classes: [...input.classNames],
        loader:
          "transferkit's loadClassifier(folder) or tf.loadLayersModel('file://…/model.json') in Node.js; " +
          "mlflow.pyfunc.load_model(folder) or keras.models.load_model('model.h5') in Python",
      },
    },
  };
}

/** The signature as MLflow writes it: JSON strings of tensor specs, batch dimension -1. */
export function signature(inputSize: number, classes: number): Record<string, string | null> {
  const spec = (shape: number[]) => JSON.stringify([{ type: 'tensor', 'tensor-spec': { dtype: 'float32', shape } }]);
  return { inputs: spec([-1, inputSize, inputSize, 3]), outputs: spec([-1, classes]), params: null };
}

export interface MlmodelFile {
  readonly runId?: string;
  readonly inputSize: number;
  readonly classes: number;
  /** The MLflow version of the server (requirements.txt pins the same). */
  readonly mlflowVersion: string;
}

/** YAML text of the MLmodel file. */
export function mlmodelYaml(info: LoggedModelInfo, file: MlmodelFile): string {
  const modelId = info.modelUuid?.startsWith('m-') === true ? info.modelUuid : undefined;
  const mlmodel = {
    artifact_path: info.artifactPath,
    flavors: info.flavors,
    mlflow_version: file.mlflowVersion,
    ...(modelId === undefined ? {} : { model_id: modelId }),
    model_uuid: info.modelUuid,
    ...(file.runId === undefined ? {} : { run_id: file.runId }),
    saved_input_example_info: { artifact_path: INPUT_EXAMPLE_FILE, serving_input_path: SERVING_INPUT_EXAMPLE_FILE, type: 'ndarray' },
    signature: signature(file.inputSize, file.classes),
    utc_time_created: info.utcTimeCreated,
  };
  // YAML 1.1, as PyYAML reads it: a time like "2024-01-31 12:00:00.000000" is quoted, not a timestamp
  return stringify(mlmodel, { version: '1.1' });
}

export interface MlflowModelFiles {
  readonly info: LoggedModelInfo;
  readonly runId?: string;
  readonly inputSize: number;
  readonly classes: number;
  readonly mlflowVersion: string;
}

/** Writes MLmodel and the files above into an exported model folder (beside model.h5). */
export async function writeMlflowModel(dir: string, m: MlflowModelFiles): Promise<void> {
  const image = greyImageJson(m.inputSize);
  const files: Record<string, string> = {
    ...envFiles(m.mlflowVersion),
    [KERAS_MODULE_FILE]: 'tensorflow.keras',
    [SAVE_FORMAT_FILE]: 'h5',
    [INPUT_EXAMPLE_FILE]: image,
    [SERVING_INPUT_EXAMPLE_FILE]: `{"inputs":${image}}`,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  // MLmodel last: a folder with an MLmodel is a model to MLflow, so it appears only once complete
  const file = { inputSize: m.inputSize, classes: m.classes, mlflowVersion: m.mlflowVersion };
  await writeFile(join(dir, 'MLmodel'), mlmodelYaml(m.info, m.runId === undefined ? file : { ...file, runId: m.runId }));
}
