#!/usr/bin/env node
/** The `transferkit` command. Thin: wires process globals into the commands and exits. */
import { createLogger } from '../log.js';
import { predictCommand } from './predict.js';
import { recommendCommand } from './recommend.js';
import { serveCommand } from './serve.js';
import { sweepCommand } from './sweep.js';
import { trainCommand } from './train.js';

const USAGE = `usage: transferkit <command> [--param value ...]

commands:
  train   transfer a pretrained backbone to a dataset (the MLproject's main entry point)
  sweep   run train over a grid of parameters, one nested MLflow run per point (entry point sweep)
  predict  classify images with a trained model: transferkit predict --model out/<run>/model photos/ (entry point predict)
  recommend  measure label budget and domain similarity, advise retrained_conv_layers/weights (entry point recommend)
  serve   serve a model over HTTP, wire-compatible with mlflow models serve (--model DIR [--host 127.0.0.1] [--port 5000] [--max_body_mb 20] [--top_k 5])

Parameters use the seed's names, e.g.:
  transferkit train --dataset cifar10 --samples_per_class 300 --retrained_conv_layers 2 --max_epochs 20
  transferkit sweep --grid "retrained_conv_layers=0,1,2;samples_per_class=30,100" --max_epochs 5
  transferkit recommend --dataset fashion-mnist --classes 5-9 --samples_per_class 100 --backbone small-cnn --weights out/source/model
See README.md for every parameter.`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  // First SIGINT/SIGTERM: stop cleanly, the run ends KILLED. A second one: exit at once.
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const deps = {
    env: process.env,
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    now: () => Date.now(),
    stdout: process.stdout,
    stderr: process.stderr,
    logger: createLogger(),
    signal: controller.signal,
  };
  switch (command) {
    case 'train':
      return trainCommand(rest, deps);
    case 'sweep':
      return sweepCommand(rest, deps);
    case 'recommend':
      return recommendCommand(rest, deps);
    case 'serve':
      return serveCommand(rest, deps);
    case 'predict':
      return predictCommand(rest, deps);
    default:
      process.stderr.write(`transferkit: unknown command "${command}"; expected one of: train, sweep, recommend, predict, serve\n${USAGE}\n`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
