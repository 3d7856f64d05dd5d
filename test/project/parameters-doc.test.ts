/**
 * Parameters are documented once: docs/parameters.md and every command's --help are rendered from
 * the zod schemas, and MLproject declares the same names and defaults. Fails when docs/parameters.md
 * is stale (run `npm run docs`), when a field lacks a description, or when a documented default is
 * not what the schema does or what MLproject declares.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { outputParamsSchema } from '../../src/output/options.js';
import { COMMANDS, OUTPUT_PARAMS, paramRows } from '../../src/params-doc/catalog.js';
import { commandHelp, usage } from '../../src/params-doc/help.js';
import { parametersMarkdown } from '../../src/params-doc/markdown.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../src/pipeline/params/train.js';
import { recommendParamsSchema } from '../../src/pipeline/recommend/params.js';
import { predictParamsSchema } from '../../src/predict/params.js';
import { serveParamsSchema } from '../../src/serve/params.js';
import { sweepParamsSchema } from '../../src/sweep/spec.js';
import { REPO } from '../support/cli.js';

const SCHEMAS = { train: trainParamsSchema, sweep: sweepParamsSchema, recommend: recommendParamsSchema, predict: predictParamsSchema, serve: serveParamsSchema };

const mlproject = z
  .object({ entry_points: z.record(z.string(), z.object({ parameters: z.record(z.string(), z.object({ type: z.string(), default: z.union([z.string(), z.number()]).optional() })) })) })
  .parse(parse(readFileSync(join(REPO, 'MLproject'), 'utf8')));

/** MLproject writes 1.0 where the schema's default prints 1: the same value for a number. */
const sameDefault = (a: string, b: string) => a === b || (a.trim() !== '' && b.trim() !== '' && Number(a) === Number(b));

describe('docs/parameters.md', () => {
  it('is what `npm run docs` renders from the schemas today', () => {
    const committed = readFileSync(join(REPO, 'docs', 'parameters.md'), 'utf8');
    assert.ok(committed === parametersMarkdown(), 'docs/parameters.md is stale: run `npm run docs` and commit it');
  });

  it('lists every parameter of every command, with a meaning', () => {
    const doc = parametersMarkdown();
    for (const c of COMMANDS) {
      assert.deepEqual(c.params.map((p) => p.name), Object.keys(SCHEMAS[c.name].shape), c.name);
      for (const p of c.params) {
        assert.ok(p.meaning.length > 10, `${c.name} ${p.name} has a description`);
        assert.ok(doc.includes(`| \`${p.name}\` |`), `${p.name} in the page`);
      }
    }
    assert.deepEqual(OUTPUT_PARAMS.map((p) => p.name), Object.keys(outputParamsSchema.shape));
  });
});

describe('documented defaults', () => {
  for (const c of COMMANDS) {
    it(`${c.name}: each documented default parses to the schema's own default`, () => {
      const schema = SCHEMAS[c.name];
      const required = Object.fromEntries(c.params.filter((p) => p.defaultText === undefined).map((p) => [p.name, 'x']));
      const defaults = parseParams(schema, required);
      for (const p of c.params) {
        if (p.defaultText === undefined) continue;
        const given = parseParams(schema, { ...required, [p.name]: p.defaultText });
        assert.deepEqual(given[p.name as keyof typeof given], defaults[p.name as keyof typeof defaults], `${c.name} ${p.name}=${p.defaultText}`);
      }
    });
  }

  for (const c of COMMANDS.filter((x) => x.entryPoint !== undefined)) {
    it(`${c.name}: MLproject's ${c.entryPoint ?? ''} entry declares the same names and defaults`, () => {
      const entry = mlproject.entry_points[c.entryPoint ?? ''];
      assert.ok(entry, `MLproject has entry point ${c.entryPoint ?? ''}`);
      assert.deepEqual(Object.keys(entry.parameters).sort(), c.params.map((p) => p.name).sort());
      for (const p of c.params) {
        const declared: string | number | undefined = entry.parameters[p.name]?.default;
        if (p.defaultText === undefined) assert.equal(declared, undefined, `${p.name} is required in both`);
        // MLproject may require what the CLI takes another way (predict's input: positional arguments)
        else if (declared === undefined) assert.equal(p.defaultText, '', `${p.name}: required in MLproject, optional only as empty`);
        else assert.ok(declared !== undefined && sameDefault(String(declared), p.defaultText), `${c.entryPoint ?? ''} ${p.name}: MLproject ${String(declared)}, docs ${p.defaultText}`);
      }
    });
  }

  it('recipe entry points only use train parameters', () => {
    const train = Object.keys(trainParamsSchema.shape);
    for (const name of ['vgg19_last_block', 'two_stage', 'source_target']) {
      for (const p of Object.keys(mlproject.entry_points[name]?.parameters ?? {})) assert.ok(train.includes(p), `${name}: ${p}`);
    }
  });
});

describe('--help', () => {
  it('names each parameter with its default and allowed values', () => {
    const help = commandHelp('train');
    assert.match(help, /^usage: transferkit train /);
    assert.match(help, /\n {2}--samples_per_class {2}\(default: 300\)\n/);
    assert.match(help, /Allowed: a whole number from 1 to 1000000, or "all"\./);
    assert.match(help, /\n {2}--log_format {2}\(default: text\)\n/);
    assert.match(commandHelp('serve'), /\n {2}--model {2}\(default: empty\)\n/);
    assert.match(commandHelp('predict'), /\n {2}--model {2}\(required\)\n/);
    for (const c of COMMANDS) assert.ok(usage().includes(`  ${c.name} `), c.name);
  });

  it('refuses a field without metadata', () => {
    assert.throws(() => paramRows(z.strictObject({ bare: z.string() }), { bare: 'x' }), /bare has no field metadata/);
  });
});
