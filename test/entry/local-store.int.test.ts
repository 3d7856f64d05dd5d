/**
 * MLflow's default: no tracking server configured. `mlflow run` writes to the local store in the
 * caller's folder, and the program serves that same store with a private `mlflow server` for the
 * run, so `mlflow ui` on that folder shows the run with its metrics and model afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { startLocalServer, type LocalServer } from '../../src/tracking/local-server.js';
import { childEnv, mlflowRun, tempDir, tinyCifar } from '../support/cli.js';
import { clientFor, historySteps, onlyRun } from '../support/mlflow-checks.js';

describe('the local-store default through mlflow run', () => {
  let data: string;
  let home: string;
  let viewer: LocalServer | undefined;

  before(async () => {
    data = await tinyCifar(20, 30);
    home = await tempDir('localstore');
  });
  after(async () => {
    await viewer?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  it('lands the run in the caller\'s store, FINISHED, with metrics and the model', async () => {
    const res = await mlflowRun(
      { data_dir: data, backbone: 'small-cnn', weights: 'none', input_size: '16', samples_per_class: '6', max_epochs: '3', use_early_stop: '0', output_dir: join(home, 'out') },
      childEnv({ HOME: process.env['HOME'] }),
      { cwd: home, experiment: 'local' },
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    assert.match(res.stderr, /serving the local MLflow store for this run/);
    const db = join(home, 'mlflow.db');
    assert.ok(existsSync(db), `MLflow's default store ${db} exists`);
    // no server is left behind: nothing answers on the private server's port any more
    const url = /\burl=(http:\/\/127\.0\.0\.1:\d+)/.exec(res.stderr)?.[1];
    assert.ok(url !== undefined);
    await assert.rejects(fetch(`${url}/health`), 'the private server was stopped');

    viewer = await startLocalServer({ storeUri: `sqlite:///${db}`, artifactsDestination: join(home, 'mlruns'), mlflowBin: findMlflow({ env: process.env }), env: process.env, cwd: home });
    const client = clientFor(viewer.url);
    const run = await onlyRun(client, 'local');
    assert.equal(run.info.status, 'FINISHED');
    assert.deepEqual(await historySteps(client, run.info.run_id, 'val_accuracy'), [0, 1, 2]);
    // MLflow put this store's artifacts in the caller's ./mlruns; the files are there, whole
    const root = run.info.artifact_uri ?? '';
    assert.ok(root.startsWith(join(home, 'mlruns')), `artifact root ${root} below ${home}/mlruns`);
    for (const f of ['model/model.h5', 'model/MLmodel', 'model/model.json', 'evaluation/confusion_matrix.csv', 'metrics.json']) {
      assert.deepEqual(await readFile(join(root, f)), await readFile(join(home, 'out', f)), f);
    }
  });

  it('explains what to install when a fresh clone has no node_modules', async () => {
    const clone = join(home, 'clone');
    await execa('git', ['clone', '--quiet', '--depth', '1', `file://${join(import.meta.dirname, '..', '..')}`, clone]);
    const res = await execa('bash', [join(clone, 'scripts', 'run-entry.sh'), 'train'], { env: childEnv({ TRANSFERKIT_NO_AUTO_INSTALL: '1' }), extendEnv: false, reject: false });
    assert.equal(res.exitCode, 2);
    assert.match(String(res.stderr), /not installed in .*clone \(no dist\/ or node_modules\/\); run 'bash scripts\/install\.sh' there first \(needs Node\.js >= 20\.10/);
  });
});
