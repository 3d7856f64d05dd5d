/** `transferkit --help` and `transferkit <command> --help`, rendered from the parameter catalog. */
import { COMMAND_NAMES, COMMANDS, OUTPUT_PARAMS, commandDoc, isCommand, type CommandName, type ParamRow } from './catalog.js';

export { COMMAND_NAMES, isCommand };

const WIDTH = 96;

/** Words of `text` in lines of at most WIDTH characters, each starting with `indent`. */
export function wrap(text: string, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    if (line !== '' && indent.length + line.length + 1 + word.length > WIDTH) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(indent + line);
  return lines;
}

export function defaultWords(row: ParamRow): string {
  if (row.defaultText === undefined) return 'required';
  return row.defaultText === '' ? 'default: empty' : `default: ${row.defaultText}`;
}

function paramLines(row: ParamRow): string[] {
  return [`  --${row.name}  (${defaultWords(row)})`, ...wrap(row.meaning, '      '), ...wrap(`Allowed: ${row.allowed}.`, '      ')];
}

export function commandHelp(name: CommandName): string {
  const doc = commandDoc(name);
  const entry = doc.entryPoint === undefined ? '' : ` MLproject entry point: ${doc.entryPoint} (mlflow run . -e ${doc.entryPoint} -P name=value).`;
  return [
    `usage: ${doc.usage}`,
    '',
    ...wrap(`${doc.summary}${entry}`, ''),
    ...(doc.note === undefined ? [] : ['', ...wrap(doc.note, '')]),
    '',
    'parameters (--name value or --name=value):',
    ...doc.params.flatMap(paramLines),
    '',
    'output (every command):',
    ...OUTPUT_PARAMS.flatMap(paramLines),
    '',
    'examples:',
    ...doc.examples.map((e) => `  ${e}`),
    '',
    'Every parameter of every command: docs/parameters.md',
    '',
  ].join('\n');
}

export function usage(): string {
  const width = Math.max(...COMMAND_NAMES.map((c) => c.length));
  return [
    'usage: transferkit <command> [--param value ...]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'transferkit <command> --help lists its parameters with defaults and allowed values;',
    'docs/parameters.md has them all. --log_format json gives JSON log lines; --debug adds stack traces.',
    '',
  ].join('\n');
}
