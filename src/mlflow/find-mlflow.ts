/** Finds the `mlflow` executable: $MLFLOW_BIN, then <repo>/.venv/bin/mlflow, then `mlflow` on PATH. */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MlflowNotFoundError } from './errors.js';

/** The repository root (this file is src/mlflow/ or dist/mlflow/ below it). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface FindMlflowOptions {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly repoRoot?: string;
}

export function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

export function findMlflow(options: FindMlflowOptions = {}): string {
  const env = options.env ?? {};
  const fromEnv = env.MLFLOW_BIN ?? '';
  if (fromEnv !== '') {
    if (isExecutableFile(fromEnv)) return fromEnv;
    throw new MlflowNotFoundError(`MLFLOW_BIN is ${JSON.stringify(fromEnv)}, which is not an executable file`);
  }
  const venv = join(options.repoRoot ?? REPO_ROOT, '.venv', 'bin', 'mlflow');
  if (isExecutableFile(venv)) return venv;
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const dir of dirs) {
    const candidate = join(dir, 'mlflow');
    if (isExecutableFile(candidate)) return candidate;
  }
  throw new MlflowNotFoundError(
    `cannot find the mlflow executable: MLFLOW_BIN is not set, ${venv} does not exist, and no mlflow is on PATH ` +
      `(${dirs.length} directories searched). Run \`bash scripts/setup-python.sh\` to create .venv with MLflow, ` +
      'or set MLFLOW_BIN to an mlflow executable.',
  );
}
