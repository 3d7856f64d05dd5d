/**
 * The local-store default's private `mlflow server` starts while the run loads its data and trains.
 * Here its start is held back (an injected starter waits for the pipeline's "evaluated on the test
 * set" log line before it starts the real server), so the run trains before any server answers; it
 * must still land whole: FINISHED, every parameter the entry logs (as given, defaults) and the
 * derived ones, every epoch's metric points with the values of metrics.json (stamped when they
 * happened, before the server was up), the test metrics, and the run's start time from before the
 * server was asked for. A server that never comes up stops the training and fails the command with
 * its error; a training that fails while the server starts still ends the run FAILED, and the same
 * command continues its checkpoint (written before the run had an id) in that same run. The order is
 * forced by log events; timestamps are only compared with each other.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { trainCommand } from '../../src/entry/train.js';
import { parseFlags } from '../../src/entry/args.js';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { parseParams } from '../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../src/pipeline/params/train.js';
import { paramsAsGiven } from '../../src/tracking/run-params.js';
import { LocalServerError } from '../../src/mlflow/errors.js';
import { startLocalServer, type LocalServer, type LocalServerOptions } from '../../src/tracking/local-server.js';
import { tempDir, tinyCifar } from '../support/cli.js';
import { clientFor, historySteps, metricsOf, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';

const MetricsFile = z.looseObject({
  epochs: z.array(z.looseObject({ epoch: z.number(), stage: z.number() }).catchall(z.unknown())),
  test: z.looseObject({ accuracy: z.number(), loss: z.number() }),
});
const LogLine = z.looseObject({ msg: z.string() });

describe('a run whose private mlflow server comes up after the data is loaded', { timeout: 300_000 }, () => {
  let data = '';
  let home = '';
  let viewer: LocalServer | undefined;
  before(async () => {
    data = await tinyCifar(20, 30);
    home = await tempDir('late-server');
  });
  after(async () => {
    await viewer?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  it('lands every param and metric point, FINISHED', async () => {
    const messages: string[] = [];
    let dataReady: () => void = () => undefined;
    const loaded = new Promise<void>((resolve) => (dataReady = resolve));
    const logger = pino({ level: 'debug' }, {
      write: (line: string) => {
        const msg = LogLine.safeParse(JSON.parse(line)).data?.msg ?? '';
        messages.push(msg);
        if (msg === 'evaluated on the test set') dataReady();
      },
    });
    let starterCalledBeforeData: boolean | undefined;
    let calledAt = 0;
    let upAt = 0;
    const lateStarter = async (options: LocalServerOptions): Promise<LocalServer> => {
      calledAt = Date.now();
      starterCalledBeforeData = !messages.includes('data ready');
      await loaded;
      const server = await startLocalServer(options);
      upAt = Date.now();
      return server;
    };
    const given = {
      backbone: 'small-cnn', weights: 'none', data_dir: data, input_size: '16', samples_per_class: '6', max_epochs: '3',
      use_early_stop: '0', output_dir: join(home, 'out'), cache_dir: join(home, 'cache'),
    };
    const argv = Object.entries(given).flatMap(([k, v]) => [`--${k}`, v]);
    let out = '';
    const write = { write: (text: string) => (out += text) };
    const code = await trainCommand(argv, {
      // no MLFLOW_TRACKING_URI: MLflow's default store, ./mlflow.db in cwd
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], MLFLOW_EXPERIMENT_NAME: 'late' },
      cwd: home, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger, startServer: lateStarter,
    });
    assert.equal(code, 0, out);
    assert.equal(starterCalledBeforeData, true, 'the server was asked for before the data was loaded');
    const order = ['data ready', 'model ready', 'evaluated on the test set', 'mlflow server is up', 'tracking to MLflow'].map((m) => messages.indexOf(m));
    assert.ok(order.every((i, k) => i >= 0 && (k === 0 || i > (order[k - 1] ?? -1))), `log order ${JSON.stringify(order)}: ${messages.join(' | ')}`);

    viewer = await startLocalServer({ storeUri: `sqlite:///${join(home, 'mlflow.db')}`, artifactsDestination: join(home, 'mlruns'), mlflowBin: findMlflow({ env: process.env }), env: process.env, cwd: home });
    const client = clientFor(viewer.url);
    const run = await onlyRun(client, 'late');
    assert.equal(run.info.status, 'FINISHED');
    assert.ok(Number(run.info.start_time) <= calledAt, `start_time ${String(run.info.start_time)} is when the run began, not when its server was up (${upAt})`);
    const params = paramsOf(run);
    // what the entry logs at the start (the parameters as given, defaults for the rest), then the derived ones
    const asGiven = paramsAsGiven(parseFlags(argv), parseParams(trainParamsSchema, {}));
    assert.ok(Object.keys(asGiven).length > 20 && asGiven['samples_per_class'] === '6');
    for (const [key, value] of Object.entries(asGiven)) assert.equal(params[key], value, `param ${key}`);
    assert.equal(params['effective_input_size'], '16');
    assert.equal(params['effective_num_classes'], '10');

    const file = MetricsFile.parse(JSON.parse(await readFile(join(home, 'out', 'metrics.json'), 'utf8')));
    assert.equal(file.epochs.length, 3);
    const keys = Object.keys(file.epochs[0] ?? {}).filter((k) => k !== 'epoch' && k !== 'time' && typeof file.epochs[0]?.[k] === 'number');
    assert.ok(keys.includes('val_accuracy') && keys.includes('loss'), keys.join(','));
    for (const key of keys) {
      const history = await client.getMetricHistory(run.info.run_id, key);
      const logged = history.map((p) => [p.step, p.value]).sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
      for (const p of history) assert.ok(Number(p.timestamp) < upAt, `metric ${key} step ${p.step} stamped ${p.timestamp}, when it happened (before the server was up at ${upAt})`);
      assert.deepEqual(logged, file.epochs.map((e) => [e.epoch, e[key]]), `metric ${key}`);
    }
    const closing = metricsOf(run);
    assert.equal(closing['test_accuracy'], file.test.accuracy);
    assert.equal(closing['test_loss'], file.test.loss);
  });

  const job = (out: string) => Object.entries({
    backbone: 'small-cnn', weights: 'none', data_dir: data, input_size: '16', samples_per_class: '6', max_epochs: '3',
    use_early_stop: '0', output_dir: join(home, out), cache_dir: join(home, 'cache'),
  }).flatMap(([k, v]) => [`--${k}`, v]);
  /** A logger that calls `on` for each message. */
  const watching = (on: (msg: string) => void) => pino({ level: 'debug' }, { write: (line: string) => on(LogLine.safeParse(JSON.parse(line)).data?.msg ?? '') });

  it('a server that never comes up stops the training and fails the command with its error', async () => {
    const messages: string[] = [];
    let modelReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (modelReady = resolve));
    const logger = watching((msg) => {
      messages.push(msg);
      if (msg === 'model ready') modelReady();
    });
    const failingStarter = async (): Promise<LocalServer> => {
      await ready;
      throw new LocalServerError('mlflow server exited (exit code 1)');
    };
    let out = '';
    const write = { write: (text: string) => (out += text) };
    const code = await trainCommand(job('out-never'), {
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], MLFLOW_EXPERIMENT_NAME: 'never' },
      cwd: home, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger, startServer: failingStarter,
    });
    assert.notEqual(code, 0, out);
    assert.match(out, /^transferkit: mlflow server exited \(exit code 1\)/);
    assert.doesNotMatch(out, /interrupted|\n\s+at /);
    assert.ok(messages.includes('model ready'), messages.join(' | '));
    assert.ok(!messages.includes('evaluated on the test set'), `training went on after the server failed: ${messages.join(' | ')}`);
  });

  it('a training that fails while the server starts ends the run FAILED with its error', async () => {
    let modelReady: () => void = () => undefined;
    const ready = new Promise<void>((resolve) => (modelReady = resolve));
    const logger = watching((msg) => {
      if (msg === 'model ready') modelReady();
    });
    const lateStarter = async (options: LocalServerOptions): Promise<LocalServer> => {
      await ready;
      return startLocalServer(options);
    };
    let out = '';
    const write = { write: (text: string) => (out += text) };
    const code = await trainCommand(job('out-fails'), {
      env: { PATH: process.env['PATH'], HOME: process.env['HOME'], MLFLOW_EXPERIMENT_NAME: 'fails', TRANSFERKIT_FAULT: 'enospc@checkpoint:1' },
      cwd: home, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger, startServer: lateStarter,
    });
    assert.notEqual(code, 0, out);
    assert.match(out, /checkpoint/);
    await viewer?.stop();
    viewer = await startLocalServer({ storeUri: `sqlite:///${join(home, 'mlflow.db')}`, artifactsDestination: join(home, 'mlruns'), mlflowBin: findMlflow({ env: process.env }), env: process.env, cwd: home });
    const run = await onlyRun(clientFor(viewer.url), 'fails');
    assert.equal(run.info.status, 'FAILED');
    assert.equal(tagsOf(run)['transferkit.error_code'], 'ERR_CHECKPOINT');
  });

  it('a run killed before its server named it resumes into the same MLflow run (found by the checkpoint\'s client token)', async () => {
    // first attempt: the server is asked to start only once epoch 1 is logged (its checkpoint written
    // without a run id); epoch 2's checkpoint write then fails (disk full), the run ends FAILED
    let firstEpoch: () => void = () => undefined;
    const epochLogged = new Promise<void>((resolve) => (firstEpoch = resolve));
    const logger = watching((msg) => {
      if (msg === 'epoch') firstEpoch();
    });
    const afterEpoch1 = async (options: LocalServerOptions): Promise<LocalServer> => {
      await epochLogged;
      return startLocalServer(options);
    };
    let out = '';
    const write = { write: (text: string) => (out += text) };
    const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], MLFLOW_EXPERIMENT_NAME: 'token' };
    const failed = await trainCommand(job('out-token'), { env: { ...env, TRANSFERKIT_FAULT: 'enospc@checkpoint:2' }, cwd: home, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger, startServer: afterEpoch1 });
    assert.notEqual(failed, 0, out);
    // the same command again: resume=auto continues the checkpoint of epoch 1, in the run it was made for
    const code = await trainCommand(job('out-token'), { env, cwd: home, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger: pino({ level: 'silent' }) });
    assert.equal(code, 0, out);
    await viewer?.stop();
    viewer = await startLocalServer({ storeUri: `sqlite:///${join(home, 'mlflow.db')}`, artifactsDestination: join(home, 'mlruns'), mlflowBin: findMlflow({ env: process.env }), env: process.env, cwd: home });
    const client = clientFor(viewer.url);
    const run = await onlyRun(client, 'token');
    assert.equal(run.info.status, 'FINISHED');
    assert.equal(tagsOf(run)['transferkit.resumed'], 'true');
    assert.deepEqual(await historySteps(client, run.info.run_id, 'loss'), [0, 1, 2]);
  });
});
