/**
 * The files beside MLmodel that make model/ a complete MLflow Model: the Python environment that
 * loads model.h5 (conda.yaml, python_env.yaml, requirements.txt), the Keras loader's hints
 * (keras_module.txt, save_format.txt) and an input example (one mid-grey image of raw pixels).
 */
import { stringify } from 'yaml';

/**
 * What the Python side of the model was verified with: model.h5 (written for Keras 3) loads and
 * predicts with these (test/tracking/mlflow-model.int.test.ts checks the venv has them).
 * `mlflow` is the fallback when the tracking server does not say its version.
 */
export const MODEL_RUNTIME = { python: '3.11', tensorflow: '2.21.0', keras: '3.15.1', mlflow: '3.17.2' } as const;

export const ENV_FILES = { conda: 'conda.yaml', virtualenv: 'python_env.yaml', requirements: 'requirements.txt' } as const;
export const INPUT_EXAMPLE_FILE = 'input_example.json';
export const SERVING_INPUT_EXAMPLE_FILE = 'serving_input_example.json';
/** Read by mlflow.tensorflow's pyfunc loader from the `data` folder (here the model folder itself). */
export const KERAS_MODULE_FILE = 'keras_module.txt';
export const SAVE_FORMAT_FILE = 'save_format.txt';

/** Every file writeMlflowModel adds to the model folder. */
export const MLFLOW_MODEL_FILES = [
  'MLmodel',
  ENV_FILES.conda,
  ENV_FILES.virtualenv,
  ENV_FILES.requirements,
  KERAS_MODULE_FILE,
  SAVE_FORMAT_FILE,
  INPUT_EXAMPLE_FILE,
  SERVING_INPUT_EXAMPLE_FILE,
] as const;

export function requirements(mlflowVersion: string): string[] {
  return [`mlflow==${mlflowVersion}`, `tensorflow==${MODEL_RUNTIME.tensorflow}`, `keras==${MODEL_RUNTIME.keras}`];
}

export function envFiles(mlflowVersion: string): Record<string, string> {
  const pip = requirements(mlflowVersion);
  return {
    [ENV_FILES.requirements]: `${pip.join('\n')}\n`,
    [ENV_FILES.conda]: stringify(
      { channels: ['conda-forge'], dependencies: [`python=${MODEL_RUNTIME.python}`, 'pip', { pip }], name: 'mlflow-env' },
      { version: '1.1' },
    ),
    [ENV_FILES.virtualenv]: stringify(
      { python: MODEL_RUNTIME.python, build_dependencies: ['pip', 'setuptools', 'wheel'], dependencies: [`-r ${ENV_FILES.requirements}`] },
      { version: '1.1' },
    ),
  };
}

/** One image of `size`×`size` mid-grey raw pixels (128.0), batch of one, as a JSON nested list of floats. */
export function greyImageJson(size: number): string {
  const pixel = '[128.0,128.0,128.0]';
  const row = `[${Array.from({ length: size }, () => pixel).join(',')}]`;
  return `[[${Array.from({ length: size }, () => row).join(',')}]]`;
}
