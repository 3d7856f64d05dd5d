/** Output for people and machines: one readable line per event, JSON lines on request, errors said once. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { endWithFailure } from '../../src/entry/end-with-failure.js';
import { ParamError, TransferkitError } from '../../src/errors.js';
import { barLine, rateText } from '../../src/output/bars.js';
import { createOutput } from '../../src/output/create.js';
import { eventText, formatValue } from '../../src/output/event-line.js';
import { takeOutputOptions } from '../../src/output/options.js';

/** Output into a stream that is not a terminal, keeping what it was given. */
function outputTo(format: 'text' | 'json', debug = false) {
  const chunks: string[] = [];
  const output = createOutput({ log_format: format, debug }, { write: (t: string) => chunks.push(t) }, {});
  return { output, text: () => chunks.join('') };
}

describe('event lines', () => {
  it('says an epoch as its progress line, NaN included', () => {
    const line = eventText({ level: 30, time: 0, msg: 'epoch', epoch: 2, stage: 1, loss: 0.51234, accuracy: 0.8, val_loss: null, val_accuracy: 0.75, epoch_seconds: 4.25, time_ms: 0, phase: 'target', max_epochs: 20 });
    assert.equal(line, 'epoch  3/20  loss 0.5123  acc 0.8000  val_loss NaN  val_acc 0.7500  4.3s');
  });

  it('says other events as the message then key=value, hiding pino fields', () => {
    assert.equal(
      eventText({ level: 30, time: 1, pid: 2, hostname: 'h', name: 'transferkit', msg: 'activation cache ready', status: 'miss', bytes: 1234, seconds: 1.23456, cut_after: 'block5 pool' }),
      'activation cache ready  status=miss  bytes=1234  seconds=1.235  cut_after="block5 pool"',
    );
    assert.equal(eventText({ msg: 'failed', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n  at x' } }), 'failed  error=boom');
  });

  it('cuts long values and keeps arrays short', () => {
    assert.equal(formatValue([[]]), '[[]]');
    const long = formatValue('x'.repeat(500));
    assert.equal(long.length, 160);
    assert.ok(long.endsWith('…'));
  });
});

describe('log formats', () => {
  it('text: one readable line per event, no JSON', () => {
    const { output, text } = outputTo('text');
    output.logger.info({ status: 'hit' }, 'activation cache ready');
    output.logger.warn('careful');
    const lines = text().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 2);
    assert.match(lines[0] ?? '', /^\d\d:\d\d:\d\d INFO: activation cache ready {2}status=hit$/);
    assert.match(lines[1] ?? '', /^\d\d:\d\d:\d\d WARN: careful$/);
    assert.doesNotMatch(text(), /[{}]/);
  });

  it('json: one pino object per line', () => {
    const { output, text } = outputTo('json');
    output.logger.info({ status: 'hit' }, 'activation cache ready');
    const lines = text().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1);
    assert.deepEqual({ ...JSON.parse(lines[0] ?? ''), time: 0 }, { level: 30, time: 0, name: 'transferkit', status: 'hit', msg: 'activation cache ready' });
  });

  it('debug lowers the level to debug', () => {
    const quiet = outputTo('text');
    quiet.output.logger.debug('hidden');
    assert.equal(quiet.text(), '');
    const loud = outputTo('text', true);
    loud.output.logger.debug('shown');
    assert.match(loud.text(), /DEBUG: shown/);
  });
});

describe('output options', () => {
  it('takes --log_format and --debug off the arguments, leaving the rest', () => {
    assert.deepEqual(takeOutputOptions(['--model', 'm', '--debug', 'photos/', '--log_format', 'json'], {}), { options: { log_format: 'json', debug: true }, rest: ['--model', 'm', 'photos/'] });
    assert.deepEqual(takeOutputOptions(['--debug', '0', '--log-format=text', '--x', '1'], {}), { options: { log_format: 'text', debug: false }, rest: ['--x', '1'] });
    assert.deepEqual(takeOutputOptions(['--debug'], {}).options.debug, true);
  });

  it('reads the environment when the flags say nothing, flags first', () => {
    assert.deepEqual(takeOutputOptions([], { TRANSFERKIT_LOG_FORMAT: 'json', TRANSFERKIT_DEBUG: '1' }).options, { log_format: 'json', debug: true });
    assert.equal(takeOutputOptions(['--log_format', 'text'], { TRANSFERKIT_LOG_FORMAT: 'json' }).options.log_format, 'text');
  });

  it('refuses an unknown format, naming the parameter', () => {
    assert.throws(() => takeOutputOptions(['--log_format', 'xml'], {}), (e: unknown) => e instanceof ParamError && /Parameter "log_format" must be one of "text", "json", got "xml"/.test(e.message));
    assert.throws(() => takeOutputOptions(['--log_format'], {}), ParamError);
  });
});

describe('errors are said once', () => {
  const silent = pino({ level: 'silent' });
  const capture = () => {
    let text = '';
    return { stderr: { write: (t: string) => (text += t) }, text: () => text };
  };

  it('text: one transferkit line, no stack, for user errors', async () => {
    const err = capture();
    const code = await endWithFailure(new ParamError('x', 'Parameter "x" is bad\nreally'), { logger: silent, stderr: err.stderr }, undefined, { waitMs: 0, now: Date.now });
    assert.equal(code, 2);
    assert.equal(err.text(), 'transferkit: Parameter "x" is bad really\n');
  });

  it('text: a bug is one line with a hint; --debug adds its stack', async () => {
    const plain = capture();
    assert.equal(await endWithFailure(new TypeError('undefined is not a function'), { logger: silent, stderr: plain.stderr }, undefined, { waitMs: 0, now: Date.now }), 1);
    assert.equal(plain.text(), 'transferkit: internal error: undefined is not a function (run with --debug for the stack trace)\n');
    const debug = capture();
    await endWithFailure(new TransferkitError('ERR_X', 'broken', { userError: false }), { logger: silent, stderr: debug.stderr, debug: true }, undefined, { waitMs: 0, now: Date.now });
    const [first, ...stack] = debug.text().trimEnd().split('\n');
    assert.equal(first, 'transferkit: broken');
    assert.match(stack[0] ?? '', /^TransferkitError: broken$/);
    assert.match(stack[1] ?? '', /^\s+at /);
  });

  it('json: the error is the logger line alone, with its code', async () => {
    const { output, text } = outputTo('json');
    const err = capture();
    await endWithFailure(new ParamError('x', 'Parameter "x" is bad'), { logger: output.logger, stderr: err.stderr, logFormat: 'json' }, undefined, { waitMs: 0, now: Date.now });
    assert.equal(err.text(), '');
    const lines = text().split('\n').filter((l) => l !== '');
    assert.equal(lines.length, 1);
    const parsed: unknown = JSON.parse(lines[0] ?? '');
    assert.deepEqual({ ...Object(parsed), time: 0 }, { level: 50, time: 0, name: 'transferkit', code: 'ERR_PARAM', msg: 'Parameter "x" is bad' });
  });
});

describe('progress bars', () => {
  const options = { barsize: 10, barCompleteString: '#'.repeat(10), barIncompleteString: '-'.repeat(10), barGlue: '', autopaddingChar: '  ' };
  it('show rate and ETA for images, and MB for downloads', () => {
    const params = { progress: 0.5, eta: 4, startTime: 0, stopTime: null, total: 2000, value: 1000, maxWidth: 80 };
    assert.equal(barLine('epoch 1/2', 'images', options, params, 2000), 'epoch 1/2 #####----- 50%  1000/2000 img  500 img/s  ETA  4s');
    const bytes = { ...params, total: 100 * 2 ** 20, value: 25 * 2 ** 20, progress: 0.25, eta: 30 };
    assert.equal(barLine('download x.h5', 'bytes', options, bytes, 10_000), 'download x.h5 ###------- 25%  25.0 MB/100.0 MB  2.5 MB/s  ETA 30s');
  });

  it('without a total, the amount and the rate only', () => {
    const params = { progress: 0, eta: Number.NaN, startTime: 0, stopTime: null, total: 0, value: 3 * 2 ** 20, maxWidth: 80 };
    assert.equal(barLine('download y', 'bytes', options, params, 1000), 'download y  3.0 MB  3.0 MB/s');
    assert.equal(rateText(0, 'images'), '-- img/s');
  });
});
