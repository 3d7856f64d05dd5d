/**
 * The options every command takes about its own output, taken off the command line before the
 * command's parameters are parsed: `--log_format text|json` (or TRANSFERKIT_LOG_FORMAT) and
 * `--debug` (or TRANSFERKIT_DEBUG=1). `--debug` needs no value; `--debug 1`/`--debug 0` also work,
 * as MLflow passes an undeclared `-P debug=1`.
 */
import { z } from 'zod';
import { ParamError } from '../errors.js';
import { flag, oneOf } from '../pipeline/params/fields.js';
import { parseParams } from '../pipeline/params/parse.js';

export const outputParamsSchema = z.strictObject({
  log_format: oneOf(['text', 'json'] as const, 'text'),
  debug: flag(false),
});

export const outputParamDocs: Readonly<Record<keyof typeof outputParamsSchema.shape, string>> = {
  log_format:
    'How log events are written to stderr: "text" is one readable line per event (with live progress bars on a terminal), "json" is one pino JSON object per line for machines. Also TRANSFERKIT_LOG_FORMAT.',
  debug: 'Errors with their stack trace, and debug-level log events. Given as a bare --debug, or --debug 1. Also TRANSFERKIT_DEBUG=1.',
};

export type OutputParams = z.infer<typeof outputParamsSchema>;
export type LogFormat = OutputParams['log_format'];

const FLAG_WORDS = ['0', '1', 'true', 'false', 'yes', 'no'];

/** The output options (flags first, then the environment) and the arguments left for the command. */
export function takeOutputOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { readonly options: OutputParams; readonly rest: string[] } {
  const raw: Record<string, string> = {};
  const rest: string[] = [];
  const envFormat = env['TRANSFERKIT_LOG_FORMAT'];
  const envDebug = env['TRANSFERKIT_DEBUG'];
  if (envFormat !== undefined && envFormat !== '') raw['log_format'] = envFormat;
  if (envDebug !== undefined && envDebug !== '') raw['debug'] = envDebug;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--debug' || arg === '--log_format' || arg === '--log-format') {
      const name = arg === '--debug' ? 'debug' : 'log_format';
      if (name === 'debug' && (next === undefined || !FLAG_WORDS.includes(next.toLowerCase()))) raw[name] = '1';
      else if (next === undefined || next.startsWith('--')) throw new ParamError(name, `Parameter "${name}" needs a value: --${name} VALUE`);
      else {
        raw[name] = next;
        i++;
      }
    } else if (/^--(debug|log[_-]format)=/.test(arg)) {
      const eq = arg.indexOf('=');
      raw[arg.slice(2, eq).replace('-', '_')] = arg.slice(eq + 1);
    } else rest.push(arg);
  }
  return { options: parseParams(outputParamsSchema, raw), rest };
}
