/**
 * `transferkit sweep` end to end against a real MLflow server on tiny data: nesting, the parent's
 * summary against the children's own metrics, a failing point, resume, bad input and signals.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { RunArtifacts } from '../../src/mlflow/artifacts.js';
import type { MlflowClient } from '../../src/mlflow/client.js';
import type { Run } from '../../src/mlflow/schemas.js';
import { CLI, REPO, childEnv, mlflowRun, runCli as runCliIn, tempDir, tinyCifar } from '../support/cli.js';
import { artifactPaths, clientFor, metricsOf, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

const GRID = 'retrained_conv_layers=0,1;samples_per_class=6,8';

async function runsOf(client: MlflowClient, experiment: string): Promise<Run[]> {
  const exp = await client.getExperimentByName(experiment);
  if (exp === undefined) return [];
  const runs: Run[] = [];
  for await (const run of client.iterateRuns({ experimentIds: [exp.experiment_id] })) runs.push(run);
  return runs;
}

function split(runs: Run[]): { parents: Run[]; children: Run[] } {
  const isChild = (r: Run) => tagsOf(r)['mlflow.parentRunId'] !== undefined;
  return { parents: runs.filter((r) => !isChild(r)), children: runs.filter(isChild) };
}

/** The flags without one flag and its value. */
const without = (flags: string[], flag: string) => flags.filter((v, i) => v !== flag && flags[i - 1] !== flag);

/** summary.csv rows as objects (no quoted cells in these tests' rows). */
function csvRows(text: string): Array<Record<string, string>> {
  const [head, ...lines] = text.trim().split('\n');
  const keys = (head ?? '').split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i] ?? '', v])));
}

describe('transferkit sweep against a real server', () => {
  let server: TestServer;
  let data: string;
  let client: MlflowClient;
  let fixed: string[];
  let work: string;
  /** The CLI run in a temp folder, so out/ (each point's model, the sweep summary) lands there. */
  const runCli = (args: readonly string[], e: Record<string, string | undefined>) => runCliIn(args, e, work);
  const env = (experiment: string) => childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: experiment });

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 50);
    client = clientFor(server.url);
    work = await tempDir('sweep');
    fixed = ['--data_dir', data, '--backbone', 'small-cnn', '--weights', 'none', '--input_size', '16', '--max_epochs', '2', '--use_early_stop', '0', '--batch_size', '8'];
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('runs a 2x2 grid as 4 nested child runs; the parent summary agrees with the children', { timeout: 180_000 }, async () => {
    const res = await runCli(['sweep', '--grid', GRID, '--concurrency', '2', ...fixed], env('sweep-grid'));
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const { parents, children } = split(await runsOf(client, 'sweep-grid'));
    assert.equal(parents.length, 1);
    const parent = await client.getRun(parents[0]?.info.run_id ?? '');
    assert.equal(parent.info.status, 'FINISHED');
    assert.equal(children.length, 4);
    const hash = tagsOf(parent)['transferkit.sweep.spec_hash'];
    assert.match(hash ?? '', /^[0-9a-f]{16}$/);
    for (const child of children) {
      const tags = tagsOf(child);
      assert.equal(tags['mlflow.parentRunId'], parent.info.run_id);
      assert.equal(tags['transferkit.sweep.spec_hash'], hash);
      assert.equal(child.info.status, 'FINISHED');
      const p = paramsOf(child);
      assert.equal(child.info.run_name, `retrained_conv_layers=${p['retrained_conv_layers']},samples_per_class=${p['samples_per_class']}`);
      assert.equal(tags['transferkit.sweep.point'], child.info.run_name);
      assert.equal(p['max_epochs'], '2');
      assert.equal(p['backbone'], 'small-cnn');
      assert.ok('test_accuracy' in metricsOf(child) && 'best_epoch' in metricsOf(child));
    }
    const names = children.map((c) => c.info.run_name).sort();
    assert.deepEqual(names, ['0,6', '0,8', '1,6', '1,8'].map((v) => v.replace(/(\d),(\d)/, 'retrained_conv_layers=$1,samples_per_class=$2')));
    assert.equal(paramsOf(parent)['grid'], GRID);
    const artifacts = new RunArtifacts(client.http, parent.info.artifact_uri);
    const rows = csvRows((await artifacts.download('sweep/summary.csv')).toString('utf8'));
    assert.equal(rows.length, 4);
    let bestVal = -1;
    for (const row of rows) {
      const child = children.find((c) => c.info.run_id === row['run_id']);
      assert.ok(child, `row ${JSON.stringify(row)} names a child`);
      const m = metricsOf(child);
      const history = await client.getMetricHistory(child.info.run_id, 'val_accuracy');
      const atBest = history.find((h) => h.step === m['best_epoch']);
      assert.equal(Number(row['val_accuracy']), atBest?.value);
      assert.equal(Number(row['test_accuracy']), m['test_accuracy']);
      assert.equal(Number(row['train_seconds']), m['train_seconds']);
      assert.equal(row['status'], 'FINISHED');
      assert.equal(row['retrained_conv_layers'], paramsOf(child)['retrained_conv_layers']);
      bestVal = Math.max(bestVal, atBest?.value ?? -1);
    }
    const pm = metricsOf(parent);
    assert.equal(pm['best_val_accuracy'], bestVal);
    assert.equal(pm['failed_points'], 0);
    assert.equal(pm['finished_points'], 4);
    const best = children.find((c) => c.info.run_id === tagsOf(parent)['best_child_run_id']);
    assert.ok(best, 'best_child_run_id names a child');
    assert.equal(pm['best_test_accuracy'], metricsOf(best)['test_accuracy']);
    assert.equal(tagsOf(parent)['transferkit.sweep.best.samples_per_class'], paramsOf(best)['samples_per_class']);
    const files = await artifactPaths(client, parent);
    for (const f of ['sweep/summary.csv', 'sweep/summary.md', 'sweep/accuracy.svg']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
  });

  it('resumes: the same sweep again runs no finished point; force=1 reruns', { timeout: 180_000 }, async () => {
    const again = await runCli(['sweep', '--grid', GRID, ...fixed], env('sweep-grid'));
    assert.equal(again.exitCode, 0, again.stderr.slice(-3000));
    const { parents, children } = split(await runsOf(client, 'sweep-grid'));
    assert.equal(parents.length, 2);
    assert.equal(children.length, 4, 'no new child runs');
    const second = parents.find((p) => metricsOf(p)['skipped_points'] === 4);
    assert.ok(second, 'the second parent logged skipped_points=4');
    const rows = csvRows((await new RunArtifacts(client.http, second.info.artifact_uri).download('sweep/summary.csv')).toString('utf8'));
    assert.deepEqual(rows.map((r) => r['skipped']), ['yes', 'yes', 'yes', 'yes']);
    assert.deepEqual(new Set(rows.map((r) => r['run_id'])), new Set(children.map((c) => c.info.run_id)));
    assert.ok(tagsOf(second)['best_child_run_id'], 'the summary includes the skipped points');

    const forced = await runCli(['sweep', '--grid', GRID, '--random', '1', '--sweep_seed', '3', '--force', '1', ...fixed], env('sweep-grid'));
    assert.equal(forced.exitCode, 0, forced.stderr.slice(-3000));
    assert.equal(split(await runsOf(client, 'sweep-grid')).children.length, 5, 'force reran the one random point');
  });

  it('records a failing point FAILED with its error and finishes the others', { timeout: 180_000 }, async () => {
    const res = await runCli(['sweep', '--grid', 'weights=none,/nonexistent/weights.h5', ...without(fixed, '--weights'), '--samples_per_class', '6'], env('sweep-fail'));
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const { parents, children } = split(await runsOf(client, 'sweep-fail'));
    assert.equal(parents[0]?.info.status, 'FINISHED');
    assert.equal(metricsOf(parents[0] as Run)['failed_points'], 1);
    const failed = children.find((c) => paramsOf(c)['weights'] === '/nonexistent/weights.h5');
    const ok = children.find((c) => paramsOf(c)['weights'] === 'none');
    assert.equal(ok?.info.status, 'FINISHED');
    assert.equal(failed?.info.status, 'FAILED');
    assert.match(tagsOf(failed as Run)['transferkit.sweep.error'] ?? '', /^transferkit: .*nonexistent/);
    assert.match(await readFile(tagsOf(failed as Run)['transferkit.sweep.log'] ?? '', 'utf8'), /nonexistent/, 'the child log is kept');
  });

  it('rejects bad input with exit 2 before any run is created', { timeout: 120_000 }, async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--grid', ''], /Parameter "grid" is empty/],
      [['--grid', 'learning_rat=0.1'], /Unknown parameter "learning_rat" in grid; expected one of the train parameters: .*learning_rate/],
      [['--grid', 'samples_per_class=6,0'], /Sweep point samples_per_class=0: Parameter "samples_per_class" must be a whole number from 1/],
      [['--grid', 'samples_per_class=6', '--concurrency', '0'], /"concurrency" must be "auto" or a whole number from 1 to 64, got "0"/],
      [['--grid', 'max_epochs=1,2'], /"max_epochs" is both fixed \("2" \(string\)\) and swept/],
    ];
    for (const [args, message] of cases) {
      const res = await runCli(['sweep', ...args, ...fixed], env('sweep-bad'));
      assert.equal(res.exitCode, 2, `${args.join(' ')}: ${res.stderr}`);
      assert.match(res.stderr, message);
    }
    assert.equal((await runsOf(client, 'sweep-bad')).length, 0);
  });

  it('runs through `mlflow run -e sweep` under the run MLflow created; bad input ends it FAILED', { timeout: 240_000 }, async () => {
    const flags = [...fixed, '--samples_per_class', '6'];
    const extras = Object.fromEntries(flags.flatMap((v, i) => (i % 2 === 0 ? [[v.slice(2), flags[i + 1] ?? '']] : [])));
    const res = await mlflowRun({ grid: 'retrained_conv_layers=0,1', ...extras }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'sweep-mlflow', entry: 'sweep' });
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const { parents, children } = split(await runsOf(client, 'sweep-mlflow'));
    assert.equal(parents.length, 1, 'the sweep used the run MLflow created');
    const parent = parents[0] as Run;
    assert.equal(tagsOf(parent)['mlflow.project.entryPoint'], 'sweep');
    assert.equal(parent.info.status, 'FINISHED');
    assert.equal(children.length, 2);
    for (const c of children) {
      assert.equal(tagsOf(c)['mlflow.parentRunId'], parent.info.run_id);
      assert.equal(c.info.status, 'FINISHED');
    }
    // `mlflow run` runs in the project folder: remove what this sweep wrote to its out/.
    for (const id of [`sweep-${parent.info.run_id}`, ...children.map((c) => c.info.run_id)]) await rm(join(REPO, 'out', id), { recursive: true, force: true });

    const rest = Object.fromEntries(Object.entries(extras).filter(([k]) => k !== 'samples_per_class'));
    const bad = await mlflowRun({ ...rest, grid: 'samples_per_class=0' }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'sweep-mlflow-bad', entry: 'sweep' });
    assert.notEqual(bad.exitCode, 0);
    const runs = await runsOf(client, 'sweep-mlflow-bad');
    assert.equal(runs.length, 1, 'no child runs');
    assert.equal(runs[0]?.info.status, 'FAILED');
    assert.match(tagsOf(runs[0] as Run)['mlflow.note.content'] ?? '', /Parameter "samples_per_class" must be a whole number from 1/);
  });

  it('SIGTERM stops the running child (KILLED), starts no more and ends the parent KILLED', { timeout: 180_000 }, async () => {
    const long = [...fixed.map((v, i) => (fixed[i - 1] === '--max_epochs' ? '100000' : v)), '--samples_per_class', '6'];
    const child = execa('node', [CLI, 'sweep', '--grid', 'seed=1,2,3', '--concurrency', '1', ...long], { env: env('sweep-term'), extendEnv: false, reject: false, cwd: work });
    const deadline = Date.now() + 60_000;
    let running: Run | undefined;
    while (running === undefined && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      running = split(await runsOf(client, 'sweep-term')).children.find((r) => r.data.metrics.some((m) => m.key === 'val_accuracy'));
    }
    assert.ok(running, 'a child started training');
    child.kill('SIGTERM');
    const res = await child;
    assert.equal(res.exitCode, 130, String(res.stderr).slice(-2000));
    const { parents, children } = split(await runsOf(client, 'sweep-term'));
    assert.equal(parents[0]?.info.status, 'KILLED');
    assert.equal(children.length, 1, 'no point started after the signal');
    assert.equal(children[0]?.info.status, 'KILLED');
  });
});
