#!/usr/bin/env node
/**
 * The `transferkit` command's first moments. A tracked `train` over MLflow's local store starts its
 * private mlflow server here, before the commands' modules (TensorFlow, the pipeline) are imported:
 * both take seconds, and they overlap (early-server.ts). Then main.ts runs the command.
 */
import { startServerEarly } from './early-server.js';

const argv = process.argv.slice(2);
const early = startServerEarly(argv, process.env, process.cwd());
try {
  const { main } = await import('./main.js');
  process.exitCode = await main(argv, early?.starter);
} finally {
  await early?.release();
}
