#!/usr/bin/env node
/**
 * The `transferkit` command's first moments. A tracked `train` over MLflow's local store starts its
 * private mlflow server here, before the commands' modules (TensorFlow, the pipeline) are imported:
 * both take seconds, and they overlap (early-server.ts). Until main.ts handles signals, a signal
 * stops that server and exits (a second one kills it at once). Then main.ts runs the command.
 */
import { exitOnSignals, startServerEarly } from './early-server.js';

const argv = process.argv.slice(2);
const early = startServerEarly(argv, process.env, process.cwd());
// installed before anything is awaited: a signal cannot come between the server's spawn and this
const interim = early === undefined ? undefined : exitOnSignals(early);
try {
  const { main } = await import('./main.js');
  // a signal during the import: the handler exits once the server has stopped; no command runs
  const stopping = interim?.stopping();
  if (stopping !== undefined) await stopping;
  else process.exitCode = await main(argv, early?.starter, interim?.take);
} finally {
  await early?.release();
}
