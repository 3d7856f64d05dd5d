/**
 * The crash-safety suite: faults injected for real (SIGKILL mid-epoch, mid-checkpoint-write and
 * mid-upload; a NaN weight; a full disk at a checkpoint; SIGTERM; a read-only output folder) into
 * short runs on real data (Fashion-MNIST, small CNN) with the native backend and a real MLflow
 * server. After each, the same command is run again and must end FINISHED in the same MLflow run,
 * with the same result as an uninterrupted run and every epoch's metric points exactly once.
 * Adaptation runs (CORAL, pseudo-labels; Fashion-MNIST → inverted Fashion-MNIST) are killed and
 * resumed the same way: they are a kind of training step in the same phase pipeline.
 * The suite prints a table of the faults it tried and how each ended.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { CLI, REPO, childEnv, mlflowRun, tempDir } from '../support/cli.js';
import { clientFor, onlyRun, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';
import { venvPython } from '../support/python.js';

const EPOCHS = 4;
const COMMON = [
  '--dataset', 'fashion-mnist', '--classes', '5-9', '--backbone', 'small-cnn', '--weights', 'none', '--samples_per_class', '30',
  '--use_early_stop', '0', '--batch_size', '16', '--seed', '3',
];
/** The reference's model unless a case says otherwise: every layer trains, no activation cache. */
const PLAIN = ['--retrained_conv_layers', 'all', '--activation_cache', 'off', '--max_epochs', String(EPOCHS)];
const metricsFile = z.object({ test: z.object({ loss: z.number(), accuracy: z.number() }) });
const KEYS = ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'stage'];
/** An adaptation's own per-epoch numbers, logged once per epoch like the others. */
const ADAPT_KEYS = { coral: ['class_loss', 'target_entropy', 'target_test_accuracy', 'coral_distance'], pseudo_label: ['class_loss', 'target_entropy', 'pseudo_label_rate'] } as const;
/** The target domain: 200 unlabelled inverted images (13 steps of 16 per epoch). */
const TARGET = ['--target_dataset', 'fashion-mnist', '--target_shift', 'invert', '--target_unlabeled_samples', '200', '--dense_units', '32'];

/**
 * Runs argv[2:] on a new pseudo-terminal (its controlling terminal, as a shell's job), reads its
 * output until argv[1] holds a checkpoint (.tkckpt), then closes the terminal: the kernel sends it
 * SIGHUP and its writes fail with EIO. Prints how it ended as JSON.
 */
const CLOSE_TERMINAL = `
import json, os, pty, select, sys
folder, argv = sys.argv[1], sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
def checkpointed():
    return os.path.isdir(folder) and any(f.endswith('.tkckpt') for f in os.listdir(folder))
while not checkpointed():
    if select.select([fd], [], [], 0.1)[0]:
        try:
            os.read(fd, 65536)
        except OSError:
            break
os.close(fd)
_, status = os.waitpid(pid, 0)
print(json.dumps({"exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None, "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None}))
`;

interface Row { fault: string; outcome: string; resumed: string; sameResult: string; points: string }

describe('crash safety (fault injection)', () => {
  let server: TestServer;
  let work: string;
  const rows: Row[] = [];
  const reference: Record<string, number> = {};

  const run = (args: readonly string[], experiment: string, extra: Record<string, string> = {}) =>
    execa('node', [CLI, 'train', ...COMMON, ...args], {
      env: childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: experiment, ...extra }),
      extendEnv: false, cwd: REPO, reject: false, timeout: 300_000,
    });
  const testLoss = async (out: string) => metricsFile.parse(JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'))).test.loss;

  /** Every per-epoch key has one point per epoch 0..EPOCHS-1, none twice. */
  async function pointsOk(runId: string, extra: readonly string[] = []): Promise<string> {
    const client = clientFor(server.url);
    const keys = [...KEYS, ...extra];
    for (const key of keys) {
      const steps = (await client.getMetricHistory(runId, key)).map((p) => p.step ?? -1).sort((a, b) => a - b);
      assert.deepEqual(steps, Array.from({ length: EPOCHS }, (_, i) => i), `${key}: one point per epoch, no duplicates (got steps ${steps.join(',')})`);
    }
    return `${keys.length}×${EPOCHS}, none lost or duplicated`;
  }

  before(async () => {
    server = await startTestServer();
    work = await tempDir('faults');
  });
  after(async () => {
    process.stdout.write(`\nfault-injection suite\n| fault | first run | resumed | same result as uninterrupted | metric points |\n|---|---|---|---|---|\n${rows.map((r) => `| ${r.fault} | ${r.outcome} | ${r.resumed} | ${r.sameResult} | ${r.points} |`).join('\n')}\n`);
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /**
   * Model settings per reference: every layer uncached; the last conv cached; two stages (2 + 2 epochs);
   * CORAL adaptation on images, and on cached activations of the frozen first block; pseudo-labels.
   */
  const MODELS = {
    off: PLAIN,
    on: ['--activation_cache', 'on', '--retrained_conv_layers', '1', '--max_epochs', String(EPOCHS)],
    stages: ['--activation_cache', 'on', '--retrained_conv_layers', '0', '--max_epochs', String(EPOCHS / 2), '--fine_tune_conv_layers', '1', '--fine_tune_epochs', String(EPOCHS / 2)],
    coral: [...TARGET, '--adaptation', 'coral', ...PLAIN],
    'coral-cached': [...TARGET, '--adaptation', 'coral', '--activation_cache', 'on', '--retrained_conv_layers', '1', '--max_epochs', String(EPOCHS)],
    pseudo_label: [...TARGET, '--adaptation', 'pseudo_label', ...PLAIN],
  } as const;
  const extraKeys = (model: keyof typeof MODELS): readonly string[] =>
    model === 'coral' || model === 'coral-cached' ? ADAPT_KEYS.coral : model === 'pseudo_label' ? ADAPT_KEYS.pseudo_label : [];

  for (const cache of ['off', 'on', 'stages', 'coral', 'coral-cached', 'pseudo_label'] as const) {
    it(`uninterrupted reference (${cache === 'stages' ? 'two stages' : cache === 'off' || cache === 'on' ? `activation_cache=${cache}` : `adaptation ${cache}`})`, async () => {
      const out = join(work, `ref-${cache}`);
      const res = await run([...MODELS[cache], '--output_dir', out], `ref-${cache}`);
      assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
      reference[cache] = await testLoss(out);
      assert.deepEqual(await readdir(join(out, 'checkpoints')), [], 'checkpoints are removed once the run is FINISHED');
    });
  }

  const kills = [
    { fault: 'kill@batch:2:3', cache: 'off', what: 'SIGKILL mid-epoch 2' },
    { fault: 'kill@checkpoint:3', cache: 'off', what: 'SIGKILL while writing the checkpoint of epoch 3' },
    { fault: 'kill@upload', cache: 'off', what: 'SIGKILL during the model upload' },
    { fault: 'kill@batch:3:1', cache: 'on', what: 'SIGKILL mid-epoch 3, activation cache on' },
    { fault: 'kill@batch:4:2', cache: 'stages', what: 'SIGKILL in stage 2 (feature extraction, then fine-tuning)' },
    { fault: 'kill@batch:2:5', cache: 'coral', what: 'SIGKILL mid-epoch 2 of a CORAL adaptation' },
    { fault: 'kill@batch:3:2', cache: 'coral-cached', what: 'SIGKILL mid-epoch 3 of a CORAL adaptation on cached activations (first conv block frozen)' },
    { fault: 'kill@batch:3:7', cache: 'pseudo_label', what: 'SIGKILL mid-epoch 3 of a pseudo-label (FixMatch) adaptation' },
    { fault: 'kill@checkpoint:2', cache: 'pseudo_label', what: 'SIGKILL while writing the checkpoint of epoch 2 of a pseudo-label adaptation' },
  ] as const;
  for (const k of kills) {
    it(`${k.what}: the same command resumes into the same run and ends as if never interrupted`, async () => {
      const out = join(work, k.fault.replace(/[@:]/g, '-') + k.cache);
      const args = [...MODELS[k.cache], '--output_dir', out];
      const experiment = `kill-${k.fault.replace(/[@:]/g, '-')}-${k.cache}`;
      const first = await run(args, experiment, { TRANSFERKIT_FAULT: k.fault });
      assert.equal(first.signal, 'SIGKILL', `killed (${String(first.exitCode)}): ${first.stderr.slice(-1500)}`);
      const files = await readdir(join(out, 'checkpoints'));
      if (k.fault.startsWith('kill@checkpoint')) assert.ok(files.some((f) => f.includes('partial')), `a half-written temp file was left: ${files.join(', ')}`);
      const second = await run(args, experiment);
      assert.equal(second.exitCode, 0, second.stderr.slice(-2000));
      assert.match(second.stderr, /resuming from a checkpoint/);
      const mlrun = await onlyRun(clientFor(server.url), experiment);
      assert.equal(mlrun.info.status, 'FINISHED');
      assert.equal(tagsOf(mlrun)['transferkit.resumed'], 'true');
      const loss = await testLoss(out);
      const ref = reference[k.cache] ?? Number.NaN;
      assert.ok(Math.abs(loss - ref) < 1e-5, `test loss ${loss} vs uninterrupted ${ref}`);
      const points = await pointsOk(mlrun.info.run_id, extraKeys(k.cache));
      rows.push({ fault: k.what, outcome: 'killed (SIGKILL)', resumed: 'FINISHED, same run', sameResult: `yes (|Δ test loss| ${Math.abs(loss - ref).toExponential(1)})`, points });
    });
  }

  it('a checkpoint made with other parameters is refused, saying what differs', async () => {
    const out = join(work, 'mismatch');
    const first = await run([...PLAIN, '--output_dir', out], 'mismatch', { TRANSFERKIT_FAULT: 'kill@batch:2:1' });
    assert.equal(first.signal, 'SIGKILL');
    const second = await run([...PLAIN, '--output_dir', out, '--learning_rate', '0.01'], 'mismatch');
    assert.equal(second.exitCode, 2, second.stderr.slice(-1500));
    assert.match(second.stderr, /was made with other inputs.*learning_rate "0\.001" → "0\.01".*resume=never/s);
    assert.doesNotMatch(second.stderr, /\n\s+at /);
    const third = await run([...PLAIN, '--output_dir', out, '--learning_rate', '0.01', '--resume', 'never'], 'mismatch');
    assert.equal(third.exitCode, 0, third.stderr.slice(-1500));
    rows.push({ fault: 'checkpoint with another learning_rate', outcome: 'refused (exit 2), names learning_rate', resumed: 'resume=never starts over', sameResult: 'n/a', points: 'n/a' });
  });

  it('a NaN stops the run clearly; the last good checkpoint stays', async () => {
    const out = join(work, 'nan');
    const res = await run([...PLAIN, '--output_dir', out], 'nan', { TRANSFERKIT_FAULT: 'nan@batch:3:2' });
    assert.equal(res.exitCode, 2, res.stderr.slice(-1500));
    assert.match(res.stderr, /Loss became NaN in epoch 3/);
    const mlrun = await onlyRun(clientFor(server.url), 'nan');
    assert.equal(mlrun.info.status, 'FAILED');
    const files = await readdir(join(out, 'checkpoints'));
    assert.ok(files.some((f) => f.includes('-0000002-')), `epoch 2's checkpoint kept: ${files.join(', ')}`);
    const steps = (await clientFor(server.url).getMetricHistory(mlrun.info.run_id, 'val_loss')).map((p) => p.step).sort();
    assert.deepEqual(steps, [0, 1], 'the two good epochs are logged');
    rows.push({ fault: 'NaN weight in epoch 3', outcome: 'FAILED (exit 2), "Loss became NaN"', resumed: 'not resumed (a NaN needs other parameters)', sameResult: 'n/a', points: 'epochs 1-2 kept' });
  });

  it('a full disk at a checkpoint stops the run clearly; the same command then resumes it', async () => {
    const out = join(work, 'enospc');
    const first = await run([...PLAIN, '--output_dir', out], 'enospc', { TRANSFERKIT_FAULT: 'enospc@checkpoint:2' });
    assert.equal(first.exitCode, 2, first.stderr.slice(-1500));
    assert.match(first.stderr, /Could not write the checkpoint of epoch 2 .*\(ENOSPC\).*previous checkpoint .* is intact/s);
    assert.equal((await onlyRun(clientFor(server.url), 'enospc')).info.status, 'FAILED');
    const second = await run([...PLAIN, '--output_dir', out], 'enospc');
    assert.equal(second.exitCode, 0, second.stderr.slice(-1500));
    const mlrun = await onlyRun(clientFor(server.url), 'enospc');
    assert.equal(mlrun.info.status, 'FINISHED');
    const loss = await testLoss(out);
    assert.ok(Math.abs(loss - (reference['off'] ?? Number.NaN)) < 1e-5, `test loss ${loss} vs uninterrupted ${reference['off']}`);
    rows.push({ fault: 'disk full (ENOSPC) writing checkpoint 2', outcome: 'FAILED (exit 2), names ENOSPC', resumed: 'FINISHED, same run', sameResult: 'yes', points: await pointsOk(mlrun.info.run_id) });
  });

  it('SIGTERM: the run ends KILLED with its checkpoints; the same command resumes it', async () => {
    const out = join(work, 'sigterm');
    const child = run([...PLAIN, '--output_dir', out], 'sigterm');
    for (let i = 0; i < 600; i++) {
      const files = await readdir(join(out, 'checkpoints')).catch(() => []);
      if (files.some((f) => f.endsWith('.tkckpt'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    const first = await child;
    assert.equal(first.exitCode, 130, first.stderr.slice(-1500));
    assert.equal((await onlyRun(clientFor(server.url), 'sigterm')).info.status, 'KILLED');
    const second = await run([...PLAIN, '--output_dir', out], 'sigterm');
    assert.equal(second.exitCode, 0, second.stderr.slice(-1500));
    const mlrun = await onlyRun(clientFor(server.url), 'sigterm');
    assert.equal(mlrun.info.status, 'FINISHED');
    const loss = await testLoss(out);
    assert.ok(Math.abs(loss - (reference['off'] ?? Number.NaN)) < 1e-5, `test loss ${loss} vs uninterrupted ${reference['off']}`);
    rows.push({ fault: 'SIGTERM after the first checkpoint', outcome: 'KILLED (exit 130)', resumed: 'FINISHED, same run', sameResult: 'yes', points: await pointsOk(mlrun.info.run_id) });
  });

  it('SIGHUP (terminal closed): as SIGTERM, the run ends KILLED with its data sent; the same command resumes it', async () => {
    const out = join(work, 'sighup');
    const child = run([...PLAIN, '--output_dir', out], 'sighup');
    for (let i = 0; i < 600; i++) {
      const files = await readdir(join(out, 'checkpoints')).catch(() => []);
      if (files.some((f) => f.endsWith('.tkckpt'))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGHUP');
    const first = await child;
    assert.equal(first.exitCode, 130, first.stderr.slice(-1500));
    const killed = await onlyRun(clientFor(server.url), 'sighup');
    assert.equal(killed.info.status, 'KILLED');
    // the epochs done before the signal were flushed: at least the checkpointed one
    assert.ok((await clientFor(server.url).getMetricHistory(killed.info.run_id, 'val_loss')).length >= 1, 'the metric points logged before SIGHUP reached MLflow');
    const second = await run([...PLAIN, '--output_dir', out], 'sighup');
    assert.equal(second.exitCode, 0, second.stderr.slice(-1500));
    const mlrun = await onlyRun(clientFor(server.url), 'sighup');
    assert.equal(mlrun.info.status, 'FINISHED');
    rows.push({ fault: 'SIGHUP after the first checkpoint', outcome: 'KILLED (exit 130)', resumed: 'FINISHED, same run', sameResult: 'not compared', points: await pointsOk(mlrun.info.run_id) });
  });

  it('SIGHUP from a closed terminal: the run still ends KILLED with its data sent (writes to the gone terminal dropped)', async () => {
    const out = join(work, 'hangup');
    const args = ['node', CLI, 'train', ...COMMON, ...PLAIN, '--output_dir', out];
    const res = await execa(venvPython(), ['-c', CLOSE_TERMINAL, join(out, 'checkpoints'), ...args], {
      env: childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'hangup' }), extendEnv: false, cwd: REPO, reject: false, timeout: 300_000,
    });
    assert.equal(res.exitCode, 0, String(res.stderr));
    const ended = z.object({ exit: z.number().nullable(), signal: z.number().nullable() }).parse(JSON.parse(String(res.stdout)));
    // not its exit code: after exit(130), Node 20's teardown asserts on resetting the hung-up
    // terminal (ResetStdio, tcsetattr EIO) and aborts; the run's end is what is checked
    assert.equal(ended.signal === 1 ? 'killed by SIGHUP' : 'not by SIGHUP', 'not by SIGHUP', `the CLI ended ${JSON.stringify(ended)}`);
    const killed = await onlyRun(clientFor(server.url), 'hangup');
    assert.equal(killed.info.status, 'KILLED', `the CLI ended ${JSON.stringify(ended)}`);
    assert.ok((await clientFor(server.url).getMetricHistory(killed.info.run_id, 'val_loss')).length >= 1, 'the metric points logged before SIGHUP reached MLflow');
    rows.push({ fault: 'terminal closed (SIGHUP, then EIO on every write)', outcome: `KILLED (${ended.exit === null ? `signal ${ended.signal}` : `exit ${ended.exit}`})`, resumed: 'not tried', sameResult: 'n/a', points: 'n/a' });
  });

  it('an output folder that cannot be written is refused before training', async () => {
    const blocker = join(work, 'blocker');
    await writeFile(blocker, 'a file where a folder should be');
    const res = await run(['--output_dir', join(blocker, 'out')], 'readonly');
    assert.equal(res.exitCode, 2, res.stderr.slice(-1500));
    assert.match(res.stderr, /Parameter "output_dir": the folder .*blocker\/out cannot be written \(a file is in the way, ENOTDIR\)/);
    assert.doesNotMatch(res.stderr, /\bepoch \d+\/\d+/, 'no training started (no epoch line)');
    rows.push({ fault: 'output folder not writable', outcome: 'refused before training (exit 2)', resumed: 'n/a', sameResult: 'n/a', points: 'n/a' });
  });

  it('under mlflow run: a killed run (FAILED by MLflow) is resumed with -P resume=<run id>', async () => {
    const out = join(work, 'mlflow-run');
    const params = { dataset: 'fashion-mnist', classes: '5-9', backbone: 'small-cnn', weights: 'none', samples_per_class: '30', max_epochs: String(EPOCHS), use_early_stop: '0', batch_size: '16', seed: '3', retrained_conv_layers: 'all', activation_cache: 'off', output_dir: out };
    const first = await mlflowRun(params, childEnv({ MLFLOW_TRACKING_URI: server.url, TRANSFERKIT_FAULT: 'kill@batch:2:2' }), { experiment: 'under-mlflow' });
    assert.notEqual(first.exitCode, 0);
    const killed = await onlyRun(clientFor(server.url), 'under-mlflow');
    assert.equal(killed.info.status, 'FAILED', 'mlflow run marks the killed run FAILED');
    const second = await mlflowRun({ ...params, resume: killed.info.run_id }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'under-mlflow' });
    assert.equal(second.exitCode, 0, second.stderr.slice(-2000));
    const client = clientFor(server.url);
    const resumed = await client.getRun(killed.info.run_id);
    assert.equal(resumed.info.status, 'FINISHED', 'the original run goes back to RUNNING and ends FINISHED');
    const experiment = await client.getExperimentByName('under-mlflow');
    const all = (await client.searchRuns({ experimentIds: [experiment?.experiment_id ?? ''], maxResults: 10 })).runs ?? [];
    const launcher = all.find((r) => r.info.run_id !== killed.info.run_id);
    assert.equal(tagsOf(launcher ?? resumed)['transferkit.resumed_into'], killed.info.run_id, 'the re-run points to the resumed run');
    const loss = await testLoss(out);
    assert.ok(Math.abs(loss - (reference['off'] ?? Number.NaN)) < 1e-5, `test loss ${loss} vs uninterrupted ${reference['off']}`);
    rows.push({ fault: 'SIGKILL under mlflow run (run FAILED by MLflow)', outcome: 'FAILED', resumed: '-P resume=<id>: FINISHED, same run', sameResult: 'yes', points: await pointsOk(killed.info.run_id) });
  });

  it('under mlflow run: a killed run is also resumed by `mlflow run --run-id <run id>` (default output_dir out/<run id>)', async () => {
    // mlflow run runs the entry in the project folder: its default output_dir is REPO/out/<run id>
    let runDir: string | undefined;
    const params = { dataset: 'fashion-mnist', classes: '5-9', backbone: 'small-cnn', weights: 'none', samples_per_class: '30', max_epochs: String(EPOCHS), use_early_stop: '0', batch_size: '16', seed: '3', retrained_conv_layers: 'all', activation_cache: 'off' };
    try {
      const first = await mlflowRun(params, childEnv({ MLFLOW_TRACKING_URI: server.url, TRANSFERKIT_FAULT: 'kill@batch:3:1' }), { experiment: 'run-id' });
      assert.notEqual(first.exitCode, 0);
      const killed = await onlyRun(clientFor(server.url), 'run-id');
      assert.equal(killed.info.status, 'FAILED');
      runDir = join(REPO, 'out', killed.info.run_id);
      const second = await mlflowRun(params, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'run-id', runId: killed.info.run_id });
      assert.equal(second.exitCode, 0, second.stderr.slice(-2000));
      assert.match(second.stderr, /resuming from a checkpoint/);
      const mlrun = await onlyRun(clientFor(server.url), 'run-id');
      assert.equal(mlrun.info.status, 'FINISHED');
      const loss = await testLoss(runDir);
      assert.ok(Math.abs(loss - (reference['off'] ?? Number.NaN)) < 1e-5, `test loss ${loss} vs uninterrupted ${reference['off']}`);
      rows.push({ fault: 'SIGKILL under mlflow run, then mlflow run --run-id', outcome: 'FAILED', resumed: 'FINISHED, same run', sameResult: 'yes', points: await pointsOk(killed.info.run_id) });
    } finally {
      if (runDir !== undefined) await rm(runDir, { recursive: true, force: true });
    }
  });
});
