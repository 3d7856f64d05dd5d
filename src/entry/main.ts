/** The `transferkit` command (started by cli.ts). Thin: wires process globals into the commands. */
import { createOutput } from '../output/create.js';
import { takeOutputOptions } from '../output/options.js';
import { COMMAND_NAMES, commandHelp, isCommand, usage } from '../params-doc/help.js';
import { describeFailure } from './failure.js';
import { predictCommand } from './predict.js';
import { recommendCommand } from './recommend.js';
import { serveCommand } from './serve.js';
import { sweepCommand } from './sweep.js';
import type { StartServer } from '../tracking/session.js';
import { trainCommand, type EntryDeps } from './train.js';

const COMMANDS = { train: trainCommand, sweep: sweepCommand, recommend: recommendCommand, predict: predictCommand, serve: serveCommand } as const;

/**
 * A closed terminal: SIGHUP, and every write to it fails with EIO, the first one possibly before the
 * SIGHUP handler has run. A closed pipe (`transferkit train … 2>&1 | head`): every write fails with
 * EPIPE (Node ignores SIGPIPE). Unhandled, that error would end the process (exit 1) before the run
 * is stopped and its data sent. So an EIO or EPIPE on stdout/stderr counts as a hang-up: the run
 * stops as on SIGHUP (KILLED, exit 130), and from then on writes to the gone reader are dropped (no
 * one can read them); any other stream error still throws.
 */
const READER_GONE = new Set(['EIO', 'EPIPE', 'ERR_STREAM_DESTROYED']);

function onTerminalGone(hangUp: () => void): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === undefined || !READER_GONE.has(error.code)) throw error;
      hangUp();
    });
  }
}

/**
 * `startServer`: the private mlflow server cli.ts started early (early-server.ts); `takeSignals`
 * removes cli.ts's interim signal handlers when these take over.
 */
export async function main(argv: readonly string[], startServer?: StartServer, takeSignals?: () => void): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    const topic = args[0];
    if (command === 'help' && topic !== undefined && isCommand(topic)) process.stdout.write(commandHelp(topic));
    else process.stdout.write(usage());
    return command === undefined ? 2 : 0;
  }
  if (!isCommand(command)) {
    process.stderr.write(`transferkit: unknown command "${command}"; expected one of: ${COMMAND_NAMES.join(', ')}\n${usage()}`);
    return 2;
  }
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(commandHelp(command));
    return 0;
  }
  let taken;
  try {
    taken = takeOutputOptions(args, process.env);
  } catch (error) {
    process.stderr.write(`transferkit: ${describeFailure(error).message}\n`);
    return 2;
  }
  const output = createOutput(taken.options, process.stderr, process.env, process.stderr.isTTY ? process.stderr : undefined);
  // First SIGINT/SIGTERM/SIGHUP (a closed terminal): stop cleanly, the queued data is sent and the
  // run ends KILLED. A second SIGINT/SIGTERM: exit at once.
  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) {
      output.close();
      process.exit(130);
    }
    controller.abort();
  };
  takeSignals?.();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // the terminal is gone: stop once, however many ways it is said (a second SIGHUP does not force)
  let hungUp = false;
  const hangUp = () => {
    if (hungUp) return;
    hungUp = true;
    stop();
  };
  process.on('SIGHUP', hangUp);
  onTerminalGone(hangUp);
  const deps: EntryDeps = {
    env: process.env,
    cwd: process.cwd(),
    fetch: globalThis.fetch,
    now: () => Date.now(),
    stdout: process.stdout,
    stderr: output.stderr,
    logger: output.logger,
    progress: output.progress,
    logFormat: output.format,
    debug: output.debug,
    signal: controller.signal,
    ...(startServer === undefined ? {} : { startServer }),
  };
  try {
    return await COMMANDS[command](taken.rest, deps);
  } finally {
    output.close();
  }
}

