/**
 * The project files users and MLflow read: MLproject agrees with the parameter schema, conda.yaml
 * declares what a conda user needs, and docker/Dockerfile parses (with dockerfile-parse) into
 * instructions whose sources exist.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { z } from 'zod';
import { getBackbone } from '../../src/pipeline/model/backbones.js';
import { planRecipe } from '../../src/pipeline/recipe.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../src/pipeline/params/train.js';
import { recommendParamsSchema } from '../../src/pipeline/recommend/params.js';
import { predictParamsSchema } from '../../src/predict/params.js';
import { REPO } from '../support/cli.js';
import { venvPython } from '../support/python.js';

const mlprojectSchema = z.object({
  name: z.string(),
  conda_env: z.string(),
  entry_points: z.record(
    z.string(),
    z.object({
      parameters: z.record(z.string(), z.object({ type: z.enum(['string', 'int', 'float', 'path', 'uri']), default: z.union([z.string(), z.number()]).optional() })),
      command: z.string(),
    }),
  ),
});

describe('MLproject', () => {
  const project = mlprojectSchema.parse(parse(readFileSync(join(REPO, 'MLproject'), 'utf8')));
  const main = project.entry_points['main'];

  it('declares exactly the parameters of the schema, with the same defaults', () => {
    assert.ok(main);
    assert.deepEqual(Object.keys(main.parameters).sort(), Object.keys(trainParamsSchema.shape).sort());
    const fromMlproject = parseParams(trainParamsSchema, Object.fromEntries(Object.entries(main.parameters).map(([k, p]) => [k, String(p.default)])));
    const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    assert.deepEqual(defined(fromMlproject), defined(parseParams(trainParamsSchema, {})));
  });

  it("keeps the seed's defaults", () => {
    assert.ok(main);
    const d = (k: string) => String(main.parameters[k]?.default);
    assert.deepEqual([d('samples_per_class'), d('retrained_conv_layers'), d('use_early_stop'), d('max_epochs')], ['300', '0', '1', '20']);
  });

  it('passes every parameter to the command exactly once', () => {
    assert.ok(main);
    for (const key of Object.keys(main.parameters)) {
      assert.equal(main.command.split(`--${key} {${key}}`).length, 2, `--${key} {${key}} in the command`);
    }
    assert.match(main.command, /^bash scripts\/run-entry\.sh train /);
    assert.ok(existsSync(join(REPO, project.conda_env)));
  });

  for (const name of ['vgg19_last_block', 'two_stage', 'source_target']) {
    it(`recipe ${name}: its command is a valid train call with its defaults, every parameter passed once`, () => {
      const entry = project.entry_points[name];
      assert.ok(entry, name);
      let command = entry.command;
      for (const [key, p] of Object.entries(entry.parameters)) {
        assert.equal(command.split(`--${key} {${key}}`).length, 2, `--${key} {${key}} in the command`);
        command = command.replace(`{${key}}`, String(p.default));
      }
      const [prefix, ...words] = command.replace(/^bash scripts\/run-entry\.sh train /, '').split(/\s+/).filter(Boolean);
      assert.ok(prefix?.startsWith('--'));
      const flags = [prefix ?? '', ...words];
      const raw: Record<string, string> = {};
      for (let i = 0; i < flags.length; i += 2) raw[(flags[i] ?? '').replace(/^--/, '')] = flags[i + 1] ?? '';
      const params = parseParams(trainParamsSchema, raw);
      const recipe = planRecipe(params, getBackbone(params.backbone));
      if (name === 'vgg19_last_block') assert.deepEqual(recipe.stages[0]?.plan.trainable, ['block5_conv1', 'block5_conv2', 'block5_conv3', 'block5_conv4']);
      if (name === 'two_stage') assert.equal(recipe.stages.length, 2);
      if (name === 'source_target') assert.ok(recipe.source !== undefined && recipe.scratch !== undefined);
    });
  }
});

describe('MLproject recommend entry point', () => {
  const entry = mlprojectSchema.parse(parse(readFileSync(join(REPO, 'MLproject'), 'utf8'))).entry_points['recommend'];

  it('declares exactly the parameters of its schema, with the same defaults, each passed once', () => {
    assert.ok(entry);
    assert.deepEqual(Object.keys(entry.parameters).sort(), Object.keys(recommendParamsSchema.shape).sort());
    const fromMlproject = parseParams(recommendParamsSchema, Object.fromEntries(Object.entries(entry.parameters).map(([k, p]) => [k, String(p.default)])));
    const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    assert.deepEqual(defined(fromMlproject), defined(parseParams(recommendParamsSchema, {})));
    for (const key of Object.keys(entry.parameters)) {
      assert.equal(entry.command.split(`--${key} {${key}}`).length, 2, `--${key} {${key}} in the command`);
    }
    assert.match(entry.command, /^bash scripts\/run-entry\.sh recommend /);
  });
});

describe('MLproject predict entry point', () => {
  const entry = mlprojectSchema.parse(parse(readFileSync(join(REPO, 'MLproject'), 'utf8'))).entry_points['predict'];

  it('declares the parameters of its schema, model and input required, each passed once', () => {
    assert.ok(entry);
    assert.deepEqual(Object.keys(entry.parameters).sort(), Object.keys(predictParamsSchema.shape).sort());
    assert.deepEqual(Object.entries(entry.parameters).filter(([, p]) => p.default === undefined).map(([k]) => k).sort(), ['input', 'model']);
    const given = { model: 'out/model', input: 'photos' };
    const fromMlproject = parseParams(predictParamsSchema, { ...Object.fromEntries(Object.entries(entry.parameters).filter(([, p]) => p.default !== undefined).map(([k, p]) => [k, String(p.default)])), ...given });
    const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
    assert.deepEqual(defined(fromMlproject), defined(parseParams(predictParamsSchema, given)));
    for (const key of Object.keys(entry.parameters)) assert.equal(entry.command.split(`--${key} {${key}}`).length, 2, `--${key} {${key}} in the command`);
    assert.match(entry.command, /^bash scripts\/run-entry\.sh predict /);
  });
});

describe('conda.yaml', () => {
  it('declares Node.js, mlflow and pip for the offline build', () => {
    const env = z.object({ name: z.string(), dependencies: z.array(z.union([z.string(), z.object({ pip: z.array(z.string()) })])) }).parse(parse(readFileSync(join(REPO, 'conda.yaml'), 'utf8')));
    const plain = env.dependencies.filter((d): d is string => typeof d === 'string');
    assert.ok(plain.some((d) => d.startsWith('nodejs')), 'nodejs');
    assert.ok(plain.includes('pip'));
    const pip = env.dependencies.flatMap((d) => (typeof d === 'string' ? [] : d.pip));
    assert.ok(pip.some((d) => d.startsWith('mlflow')), 'mlflow from pip');
  });
});

describe('docker/Dockerfile', () => {
  it('parses, starts FROM a Node image, and copies only files that exist', async () => {
    const script = `
import json, sys
from dockerfile_parse import DockerfileParser
p = DockerfileParser(path=sys.argv[1])
print(json.dumps({"structure": p.structure, "baseimage": p.baseimage, "cmd": p.cmd}))`;
    const res = await execa(venvPython(), ['-c', script, join(REPO, 'docker', 'Dockerfile')]);
    const parsed = z.object({
      structure: z.array(z.object({ instruction: z.string(), value: z.string() })),
      baseimage: z.string(),
      cmd: z.string(),
    }).parse(JSON.parse(res.stdout));
    const known = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'COMMENT']);
    assert.equal(parsed.structure.filter((i) => i.instruction !== 'COMMENT')[0]?.instruction, 'FROM');
    for (const i of parsed.structure) assert.ok(known.has(i.instruction), `unknown instruction ${i.instruction}`);
    assert.match(parsed.baseimage, /^node:\d+/);
    assert.deepEqual(JSON.parse(parsed.cmd), ['node', '/opt/transferkit/dist/entry/cli.js', '--help']);
    for (const copy of parsed.structure.filter((i) => i.instruction === 'COPY')) {
      const parts = copy.value.split(/\s+/);
      for (const src of parts.slice(0, -1)) assert.ok(existsSync(join(REPO, src)), `COPY source ${src} exists`);
    }
    assert.ok(parsed.structure.some((i) => i.instruction === 'ENV' && /TRANSFERKIT_HOME=\/opt\/transferkit/.test(i.value)));
  });
});
