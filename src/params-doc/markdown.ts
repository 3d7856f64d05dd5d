/** docs/parameters.md, rendered from the parameter catalog. Regenerate with `npm run docs`. */
import { COMMANDS, OUTPUT_PARAMS, type ParamRow } from './catalog.js';

const cell = (text: string) => text.replaceAll('|', '\\|').replaceAll('\n', ' ');

function defaultCell(row: ParamRow): string {
  if (row.defaultText === undefined) return 'required';
  return row.defaultText === '' ? '(empty)' : `\`${row.defaultText}\``;
}

function table(rows: readonly ParamRow[]): string[] {
  return [
    '| parameter | default | meaning | allowed values |',
    '|---|---|---|---|',
    ...rows.map((r) => `| \`${r.name}\` | ${defaultCell(r)} | ${cell(r.meaning)} | ${cell(r.allowed)} |`),
  ];
}

export function parametersMarkdown(): string {
  const lines = [
    '# Parameters',
    '',
    '<!-- Generated from the zod schemas by `npm run docs` (src/params-doc/). Do not edit by hand: a test fails when this file is stale. -->',
    '',
    'Every command takes its parameters as `--name value` or `--name=value`; under `mlflow run` the same',
    'names are MLproject parameters (`-P name=value`). `transferkit <command> --help` prints the same',
    'list. Values arrive as text: numbers are parsed from it, and a bad value stops the command before it',
    'starts, naming the parameter, the value and what is allowed.',
    '',
    ...COMMANDS.map((c) => `- [${c.name}](#${c.name})${c.entryPoint === undefined ? '' : ` (MLproject entry point \`${c.entryPoint}\`)`}`),
    '- [Output options (every command)](#output-options-every-command)',
    '',
  ];
  for (const c of COMMANDS) {
    lines.push(`## ${c.name}`, '', c.summary, '', '```', c.usage, ...c.examples, '```', '');
    if (c.note !== undefined) lines.push(c.note, '');
    lines.push(...table(c.params), '');
  }
  lines.push('## Output options (every command)', '', ...table(OUTPUT_PARAMS), '');
  return lines.join('\n');
}
