/**
 * What a command writes for people and machines, set up once per process: a pino logger whose
 * destination either passes JSON lines through (`log_format=json`) or turns each event into one
 * readable line (`text`, the default); on a terminal in text mode, live progress bars as well, with
 * log lines printed above them. An error is said once: the entry's failure line (src/entry/
 * end-with-failure.ts) writes `transferkit: <message>` in text mode, one JSON line in json mode.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyFactory } from 'pino-pretty';
import { noProgress, type Progress } from '../pipeline/progress.js';
import { TerminalBars } from './bars.js';
import { eventText } from './event-line.js';
import type { LogFormat, OutputParams } from './options.js';

export interface ErrStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface Output {
  readonly logger: Logger;
  /** Live bars on a terminal in text mode; nothing otherwise. */
  readonly progress: Progress;
  /** Where the command writes its own lines for people (errors); goes above the bars. */
  readonly stderr: ErrStream;
  readonly format: LogFormat;
  readonly debug: boolean;
  /** Clears the bars (before exit). */
  close(): void;
}

/** A log line (pino's JSON) → one readable line, colored when `colors`. */
export function textFormatter(colors: boolean): (jsonLine: string) => string {
  const pretty = prettyFactory({
    colorize: colors,
    translateTime: 'SYS:HH:MM:ss',
    customPrettifiers: { time: (t) => String(t) },
    ignore: 'pid,hostname,name',
    hideObject: true,
    singleLine: true,
    messageFormat: (log) => eventText(log),
  });
  return (line) => {
    const out: unknown = pretty(line);
    const text = typeof out === 'string' ? out : String(out);
    return text.endsWith('\n') ? text : `${text}\n`;
  };
}

/** `terminal`: stderr when it is a TTY (bars and colors in text mode); absent otherwise. */
export function createOutput(
  options: OutputParams,
  stream: ErrStream,
  env: Readonly<Record<string, string | undefined>>,
  terminal?: NodeJS.WriteStream,
): Output {
  const level = options.debug ? 'debug' : (env['TRANSFERKIT_LOG_LEVEL'] ?? 'info');
  const base = { level, base: { name: 'transferkit' } };
  if (options.log_format === 'json') {
    const json: DestinationStream = { write: (line: string) => stream.write(line) };
    return { logger: pino(base, json), progress: noProgress, stderr: stream, format: 'json', debug: options.debug, close: () => undefined };
  }
  const bars = terminal === undefined ? undefined : new TerminalBars(terminal);
  const write = (text: string) => (bars === undefined ? stream.write(text) : bars.line(text));
  const format = textFormatter(terminal !== undefined && env['NO_COLOR'] === undefined);
  const destination: DestinationStream = { write: (line: string) => write(format(line)) };
  return {
    logger: pino(base, destination),
    progress: bars ?? noProgress,
    stderr: { write, isTTY: terminal !== undefined },
    format: 'text',
    debug: options.debug,
    close: () => bars?.stop(),
  };
}
