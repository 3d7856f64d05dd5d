/** The sweep's parsing and planning, without processes or a server. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParamError } from '../../src/errors.js';
import { childArgs, childEnvironment, lastErrorLine } from '../../src/sweep/child.js';
import { defaultConcurrency } from '../../src/sweep/concurrency.js';
import { expandGrid, pointKey, samplePoints, specHash } from '../../src/sweep/grid.js';
import { bestResult, type PointResult } from '../../src/sweep/runs.js';
import { buildSpec } from '../../src/sweep/spec.js';
import { summaryCsv } from '../../src/sweep/summary.js';
import { accuracySvg } from '../../src/sweep/chart.js';

function rejects(raw: Record<string, string>, param: string, pattern: RegExp): void {
  assert.throws(
    () => buildSpec(raw, 1),
    (e: unknown) => e instanceof ParamError && e.param === param && pattern.test(e.message),
  );
}

describe('sweep spec', () => {
  it('parses a grid, fixed values from both forms, and expands it in grid order', () => {
    const spec = buildSpec({ grid: 'retrained_conv_layers=0,1;samples_per_class=30,100', fixed: 'backbone=small-cnn;classes=0,1,2', max_epochs: '3' }, 4);
    assert.deepEqual(spec.dimensions, [
      { name: 'retrained_conv_layers', values: ['0', '1'] },
      { name: 'samples_per_class', values: ['30', '100'] },
    ]);
    assert.deepEqual(spec.fixed, { max_epochs: '3', backbone: 'small-cnn', classes: '0,1,2' });
    assert.deepEqual(spec.points.map(pointKey), [
      'retrained_conv_layers=0,samples_per_class=30',
      'retrained_conv_layers=0,samples_per_class=100',
      'retrained_conv_layers=1,samples_per_class=30',
      'retrained_conv_layers=1,samples_per_class=100',
    ]);
    assert.equal(spec.concurrency, 4);
    assert.equal(spec.force, false);
  });

  it('rejects bad input naming the parameter, the value and what is expected', () => {
    rejects({ grid: '' }, 'grid', /"grid" is empty.*expected at least one parameter/);
    rejects({ grid: ' ; ' }, 'grid', /"grid" is empty/);
    rejects({ grid: 'learning_rat=0.1,0.2' }, 'learning_rat', /Unknown parameter "learning_rat" in grid; expected one of the train parameters: dataset, .*learning_rate/);
    rejects({ grid: 'samples_per_class=30,-4' }, 'samples_per_class', /Sweep point samples_per_class=-4: Parameter "samples_per_class" must be a whole number from 1 to 1000000, or "all", got "-4"/);
    rejects({ grid: 'samples_per_class=30', concurrency: '0' }, 'concurrency', /"concurrency" must be "auto" or a whole number from 1 to 64, got "0"/);
    rejects({ grid: 'samples_per_class=30', max_epochs: '3', fixed: 'samples_per_class=10' }, 'samples_per_class', /both fixed \("10" \(string\)\) and swept \(30\)/);
    rejects({ grid: 'samples_per_class=30', samples_per_class: '10' }, 'samples_per_class', /both fixed/);
    rejects({ grid: 'samples_per_class=30', max_epochs: 'x' }, 'max_epochs', /"max_epochs" must be a whole number/);
    rejects({ grid: 'samples_per_class=30', bogus: '1' }, 'bogus', /Unknown parameter "bogus"; expected a sweep parameter \(grid, .*\) or a train parameter/);
    rejects({ grid: 'samples_per_class' }, 'grid', /expected name=values/);
    rejects({ grid: 'samples_per_class=30,,40' }, 'samples_per_class', /empty value/);
    rejects({ grid: 'samples_per_class=30,30' }, 'samples_per_class', /twice/);
    rejects({ grid: 'seed=1;seed=2' }, 'seed', /appears twice/);
    rejects({ grid: 'seed=1', output_dir: '/tmp/x' }, 'output_dir', /cannot be fixed for a sweep/);
    rejects({ grid: 'seed=1', random: '-1' }, 'random', /"random" must be a whole number from 0/);
  });

  it('picks a seeded random subset in grid order, the same for the same seed', () => {
    const all = expandGrid([{ name: 'seed', values: ['1', '2', '3', '4', '5', '6', '7', '8'] }]);
    const a = samplePoints(all, 3, 11);
    assert.deepEqual(a, samplePoints(all, 3, 11));
    assert.equal(new Set(a.map(pointKey)).size, 3);
    assert.notDeepEqual(samplePoints(all, 3, 12), a, 'another seed, (almost surely) another subset');
    assert.deepEqual(samplePoints(all, 20, 1), all);
    const spec = buildSpec({ grid: 'seed=1,2,3,4;dropout=0.1,0.2', random: '3', sweep_seed: '5' }, 1);
    assert.equal(spec.points.length, 3);
    assert.equal(spec.gridSize, 8);
  });

  it('hashes the grid, fixed values and version, not the order they were written in', () => {
    const defaults = { head_solver: 'auto', dropout: 0.5 };
    const h = specHash([{ name: 'a', values: ['1', '2'] }, { name: 'b', values: ['x'] }], { max_epochs: '3', seed: '1' }, '0.1.0', defaults);
    assert.equal(h, specHash([{ name: 'b', values: ['x'] }, { name: 'a', values: ['2', '1'] }], { seed: '1', max_epochs: '3' }, '0.1.0', { dropout: 0.5, head_solver: 'auto' }));
    assert.notEqual(h, specHash([{ name: 'a', values: ['1', '2'] }, { name: 'b', values: ['x'] }], { max_epochs: '4', seed: '1' }, '0.1.0', defaults));
    assert.notEqual(h, specHash([{ name: 'a', values: ['1', '2'] }, { name: 'b', values: ['x'] }], { max_epochs: '3', seed: '1' }, '0.2.0', defaults));
    // a changed default changes what every point runs
    assert.notEqual(h, specHash([{ name: 'a', values: ['1', '2'] }, { name: 'b', values: ['x'] }], { max_epochs: '3', seed: '1' }, '0.1.0', { ...defaults, head_solver: 'adam' }));
  });

  it('defaults concurrency to one child per core, bounded by memory (3 GB a child), at least one', () => {
    assert.equal(defaultConcurrency({ cpus: 2, memoryBytes: 24 * 1024 ** 3 }), 2);
    assert.equal(defaultConcurrency({ cpus: 16, memoryBytes: 64 * 1024 ** 3 }), 16);
    assert.equal(defaultConcurrency({ cpus: 16, memoryBytes: 8 * 1024 ** 3 }), 2);
    assert.equal(defaultConcurrency({ cpus: 1, memoryBytes: 1024 ** 3 }), 1);
  });
});

describe('sweep children and reports', () => {
  it('never passes the parent run id to a child', () => {
    const env = childEnvironment({ MLFLOW_RUN_ID: 'parent', MLFLOW_TRACKING_URI: 'file:///x', PATH: '/bin' }, 'child', 'http://127.0.0.1:1');
    assert.deepEqual(env, { PATH: '/bin', MLFLOW_RUN_ID: 'child', MLFLOW_TRACKING_URI: 'http://127.0.0.1:1' });
    assert.deepEqual(childArgs({ classes: '0,1', data_dir: '' }), ['train', '--classes=0,1', '--data_dir=']);
  });

  it('takes the CLI error line as the child error', () => {
    assert.equal(lastErrorLine('{"level":50}\ntranskit\ntransferkit: Weights file x not found\n{"msg":"closing"}\n'), 'transferkit: Weights file x not found');
    assert.equal(lastErrorLine('boom\nSegmentation fault\n'), 'Segmentation fault');
    assert.equal(lastErrorLine(''), undefined);
    // a child run with log_format=json says its error as a pino line
    assert.equal(lastErrorLine('{"level":30,"msg":"data ready"}\n{"level":50,"code":"ERR_PARAM","msg":"Parameter \\"x\\" is bad"}\n'), 'transferkit: Parameter "x" is bad');
  });

  const results: PointResult[] = [
    { point: { a: '1', b: 'x' }, key: 'a=1,b=x', runId: 'r1', status: 'FINISHED', valAccuracy: 0.5, testAccuracy: 0.9, trainSeconds: 1, skipped: false },
    { point: { a: '2', b: 'x' }, key: 'a=2,b=x', runId: 'r2', status: 'FINISHED', valAccuracy: 0.7, testAccuracy: 0.4, trainSeconds: 2, skipped: true },
    { point: { a: '1', b: 'y' }, key: 'a=1,b=y', runId: 'r3', status: 'FAILED', skipped: false, error: 'transferkit: bad, "very"' },
  ];
  const dims = [{ name: 'a', values: ['1', '2'] }, { name: 'b', values: ['x', 'y'] }];

  it('chooses the best point by validation accuracy, never test accuracy', () => {
    assert.equal(bestResult(results)?.runId, 'r2');
    assert.equal(bestResult([results[2] as PointResult]), undefined);
  });

  it('writes one CSV row per point with full precision and quoted text', () => {
    const csv = summaryCsv(results, dims).trim().split('\n');
    assert.equal(csv[0], 'a,b,status,val_accuracy,test_accuracy,train_seconds,run_id,skipped,error');
    assert.equal(csv[2], '2,x,FINISHED,0.7,0.4,2,r2,yes,');
    assert.equal(csv[3], '1,y,FAILED,,,,r3,no,"transferkit: bad, ""very"""');
  });

  it('draws an SVG with one line per value of the second parameter', () => {
    const svg = accuracySvg(results, dims);
    assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.match(svg, />b=x</);
    assert.match(svg, />b=y</);
    assert.equal((svg.match(/<path /g) ?? []).length, 2, 'b=x has val and test lines; b=y has no finished point');
  });
});
