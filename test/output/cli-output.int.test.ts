/**
 * What the built CLI prints, as people and machines see it: off a terminal readable lines (or JSON
 * lines with --log_format json), on a terminal (a pty through `script`) live bars with rate and ETA,
 * each epoch said once, errors on one line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { CLI, childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';

const TIME_LEVEL = /^\d\d:\d\d:\d\d (INFO|WARN|ERROR|DEBUG): /;
/** Lines transferkit wrote (TensorFlow's own start-up lines aside). */
const ours = (stderr: string) => stderr.split(/\r?\n/).filter((l) => TIME_LEVEL.test(l) || l.startsWith('{') || l.startsWith('transferkit:'));
const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, 'g')) ?? []).length;
const logLine = z.object({ level: z.number(), msg: z.string() }).loose();

describe('CLI output', () => {
  let data: string;
  let work: string;
  const env = () => childEnv({ TRANSFERKIT_TRACKING: 'off' });
  const train = (out: string, extra: string[] = []) => [
    'train', '--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--samples_per_class', '10',
    '--max_epochs', '2', '--use_early_stop', '0', '--batch_size', '8', '--activation_cache', 'on', '--cache_dir', join(work, out, 'cache'), '--output_dir', join(work, out), ...extra,
  ];

  before(async () => {
    data = await tinyCifar(20, 30);
    work = await tempDir('output');
  });
  after(async () => {
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('off a terminal: readable lines, each epoch once, the result alone on stdout', async () => {
    const res = await runCli(train('text'), env());
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const lines = ours(res.stderr);
    assert.ok(lines.length > 4, res.stderr);
    for (const line of lines) assert.match(line, TIME_LEVEL, 'no JSON, no bare line');
    assert.equal(count(res.stderr, /INFO: epoch 1\/2 {2}loss/), 1);
    assert.equal(count(res.stderr, /INFO: epoch 2\/2 {2}loss/), 1);
    assert.match(res.stderr, /INFO: activation cache ready {2}status=miss/);
    assert.doesNotMatch(res.stderr, /\x1b\[/, 'no escape codes off a terminal');
    assert.match(res.stdout, /^test accuracy \d+\.\d\d% \(loss [\d.]+\) on 30 images; model in .*\n$/);
  });

  it('--log_format json: one pino object per line, two epoch events', async () => {
    const res = await runCli(train('json', ['--log_format', 'json']), env());
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const lines = ours(res.stderr);
    for (const line of lines) assert.equal(count(line, /"time":/), 1, `one time key: ${line}`);
    const events = lines.map((l) => logLine.parse(JSON.parse(l)));
    assert.ok(events.length > 4);
    assert.equal(events.filter((e) => e.msg === 'epoch').length, 2);
    assert.ok(events.every((e) => e.level === 30), 'info events only');
  });

  it('a bad parameter: exit 2, one line, no stack, in either format', async () => {
    const text = await runCli(train('bad', ['--dropout', 'abc']), env());
    assert.equal(text.exitCode, 2);
    assert.deepEqual(ours(text.stderr), ['transferkit: Parameter "dropout" must be a number from 0 up to 0.95, got "abc" (string)']);
    const json = await runCli(train('bad', ['--dropout', 'abc', '--log_format', 'json']), env());
    assert.equal(json.exitCode, 2);
    const lines = ours(json.stderr);
    assert.equal(lines.length, 1);
    assert.deepEqual(logLine.parse(JSON.parse(lines[0] ?? '')).code, 'ERR_PARAM');
  });

  it('on a terminal: bars with rate and ETA for the cache, the epochs and the test set; each epoch line once', async () => {
    const command = ['node', CLI, ...train('tty')].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const res = await execa('script', ['-qefc', command, '/dev/null'], { env: { ...env(), NO_COLOR: '1', COLUMNS: '120' }, extendEnv: false, reject: false });
    assert.equal(res.exitCode, 0, res.stdout.slice(-2000));
    const screen = res.stdout;
    const bar = (label: string) => new RegExp(`${label} [█░]+ \\d+%  \\d+/\\d+ img  (--|[\\d.]+) img/s  ETA +(--|\\d+s)`);
    assert.match(screen, bar('activation cache \\(train\\)'));
    assert.match(screen, bar('epoch 1/2'));
    assert.match(screen, bar('test set'));
    assert.equal(count(screen, /INFO: epoch 1\/2 {2}loss/), 1, 'the epoch line is printed once');
    assert.equal(count(screen, /INFO: epoch 2\/2 {2}loss/), 1);
    assert.doesNotMatch(screen, /"level":/, 'no JSON on a terminal');
    assert.match(screen, /test accuracy \d+\.\d\d%/);
  });
});
