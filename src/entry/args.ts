/**
 * argv → raw string parameters. Flags use the seed's names: `--samples_per_class 300` or
 * `--samples_per_class=300`. Values stay strings: the zod schema parses them, as it does MLflow's.
 */
import { ParamError } from '../errors.js';
import type { RawParams } from '../pipeline/params/train.js';

export function parseFlags(argv: readonly string[]): RawParams {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (!arg.startsWith('--') || arg === '--') {
      throw new ParamError(arg, `Unexpected argument "${arg}": parameters are given as --name value or --name=value`);
    }
    const eq = arg.indexOf('=');
    const name = (eq === -1 ? arg.slice(2) : arg.slice(2, eq)).replaceAll('-', '_');
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      if (value === undefined || (value.startsWith('--') && value.length > 2)) {
        throw new ParamError(name, `Parameter "${name}" needs a value: --${name} VALUE`);
      }
      i++;
    }
    if (name in raw && raw[name] !== value) {
      throw new ParamError(name, `Parameter "${name}" is given twice, as "${raw[name]}" and "${value}"`);
    }
    raw[name] = value;
  }
  return raw;
}
