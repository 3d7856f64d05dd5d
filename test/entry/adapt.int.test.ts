/**
 * Adaptation end to end against a real MLflow server, on real offline data (Debian's Fashion-MNIST,
 * a few hundred images): Fashion-MNIST → inverted Fashion-MNIST with each method, through
 * `mlflow run` (the MLproject's parameters) and the CLI. Each run FINISHES with its adaptation
 * metrics logged once per epoch, the target test accuracy as `test_accuracy`, the selection report
 * and the model folder; bad inputs end FAILED with exit 2 before training, naming the parameter.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { childEnv, mlflowRun, runCli, tempDir } from '../support/cli.js';
import { artifactPaths, clientFor, historySteps, metricsOf, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

/** Tiny: 20 labelled source images per class (16 train + 4 validation), 200 unlabelled target images. */
const TINY = {
  dataset: 'fashion-mnist', backbone: 'small-cnn', weights: 'none', retrained_conv_layers: 'all', samples_per_class: '20',
  target_dataset: 'fashion-mnist', target_shift: 'invert', target_unlabeled_samples: '200', max_epochs: '2', batch_size: '32', dense_units: '32',
} as const;
const flags = (p: Readonly<Record<string, string>>): string[] => Object.entries(p).flatMap(([k, v]) => [`--${k}`, v]);

const METHOD_METRICS = {
  none: [],
  pseudo_label: ['pseudo_label_rate', 'pseudo_label_accuracy'],
  dann: ['domain_loss', 'domain_accuracy', 'dann_lambda'],
  coral: ['coral_distance'],
} as const;

/** metrics.json has every run's shape: the target phase's epochs (with the adaptation's own numbers), the closing metrics and tags. */
const adaptEpoch = z.object({ epoch: z.number(), stage: z.literal(1), class_loss: z.number(), target_test_accuracy: z.number(), target_entropy: z.number() });
const metricsFile = z.object({
  epochs: z.array(adaptEpoch),
  phases: z.object({ target: z.array(adaptEpoch) }).strict(),
  test: z.object({ count: z.number(), accuracy: z.number() }),
  metrics: z.record(z.string(), z.number().nullable()),
  tags: z.record(z.string(), z.string()),
});

describe('adaptation against a real MLflow server', () => {
  let server: TestServer;
  let work: string;
  const env = (experiment: string) => childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: experiment });

  before(async () => {
    server = await startTestServer();
    work = await tempDir('adapt');
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function checkRun(experiment: string, method: keyof typeof METHOD_METRICS, outputDir: string) {
    const client = clientFor(server.url);
    const run = await onlyRun(client, experiment);
    assert.equal(run.info.status, 'FINISHED');
    for (const key of ['loss', 'val_loss', 'class_loss', 'target_entropy', 'target_test_accuracy', ...METHOD_METRICS[method]]) {
      assert.deepEqual(await historySteps(client, run.info.run_id, key), [0, 1], `${key}: one point per epoch`);
    }
    const metrics = metricsOf(run);
    for (const key of ['test_accuracy', 'source_test_accuracy', 'selection_gap', 'selected_epoch', 'oracle_best_epoch', 'selection_gap_target_entropy']) {
      assert.ok(Number.isFinite(metrics[key]), `${key} = ${metrics[key]}`);
    }
    assert.ok((metrics['selection_gap'] ?? -1) >= 0);
    assert.ok([0, 1].includes(metrics['selected_epoch'] ?? -1));
    const tags = tagsOf(run);
    assert.equal(tags['transferkit.adaptation'], method);
    assert.equal(tags['transferkit.selection_signal'], 'source_val_loss');
    assert.match(tags['transferkit.adaptation_summary'] ?? '', new RegExp(`^${method}: target test \\d+\\.\\d+%, source test \\d+\\.\\d+%; kept epoch [12] by source_val_loss`));
    assert.match(tags['transferkit.adaptation_domains'] ?? '', /fashion-mnist → fashion-mnist \(invert shift\).*halved/);
    assert.equal(paramsOf(run)['adaptation'], method);
    const files = await artifactPaths(client, run);
    for (const f of ['model/model.h5', 'model/transferkit.json', 'evaluation/test_metrics.json', 'metrics.json']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const file = metricsFile.parse(JSON.parse(await readFile(join(outputDir, 'metrics.json'), 'utf8')));
    assert.match(file.tags['transferkit.adaptation_summary'] ?? '', new RegExp(`^${method}: `));
    assert.deepEqual(file.phases.target, file.epochs);
    assert.equal(file.metrics['source_test_accuracy'], metrics['source_test_accuracy']);
    assert.equal(file.metrics['selected_epoch'], metrics['selected_epoch']);
    // small-cnn with every layer trained: nothing frozen to cache, and the run says so; checkpoints are gone once FINISHED
    assert.equal(tags['transferkit.activation_cache'], 'not applicable (no frozen layers before the first trainable one)');
    assert.equal(tags['transferkit.checkpoints'], undefined);
    assert.equal(file.test.count, 10_000, 'the whole inverted test set');
    assert.equal(file.epochs.length, 2);
    assert.equal(file.test.accuracy, metrics['test_accuracy']);
  }

  it('dann through `mlflow run`: every MLproject parameter reaches the run, domain metrics per epoch', async () => {
    const out = join(work, 'dann');
    const res = await mlflowRun({ ...TINY, adaptation: 'dann', output_dir: out }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'adapt-dann' });
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    await checkRun('adapt-dann', 'dann', out);
  });

  for (const method of ['none', 'pseudo_label', 'coral'] as const) {
    it(`${method} through the CLI: FINISHED, its metrics logged per epoch`, async () => {
      const out = join(work, method);
      const res = await runCli(['train', ...flags({ ...TINY, adaptation: method, output_dir: out })], env(`adapt-${method}`));
      assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
      await checkRun(`adapt-${method}`, method, out);
    });
  }

  const bad: [string, Record<string, string>, string][] = [
    ['an unknown method', { adaptation: 'mmd' }, 'adaptation'],
    ['a method without a target', { adaptation: 'dann', target_dataset: '', target_shift: 'none' }, 'target_dataset'],
    ['a missing target dataset', { adaptation: 'coral', target_dataset: 'svhn' }, 'target_dataset'],
    ['different target classes for dann', { adaptation: 'dann', classes: '0-4', target_classes: '5-9', target_labels_per_class: '5' }, 'target_classes'],
    ['different target classes without target labels', { adaptation: 'pseudo_label', classes: '0-4', target_classes: '5-9' }, 'target_classes'],
    ['more target labels than a class has', { adaptation: 'pseudo_label', target_labels_per_class: '5000' }, 'target_labels_per_class'],
  ];
  for (const [what, change, param] of bad) {
    it(`refuses ${what} before training: exit 2, run FAILED naming ${param}`, async () => {
      const experiment = `adapt-bad-${param}-${what.replace(/\W+/g, '-')}`;
      const res = await runCli(['train', ...flags({ ...TINY, ...change })], env(experiment));
      assert.equal(res.exitCode, 2, res.stderr.slice(-2000));
      assert.match(res.stderr, new RegExp(`"${param}"`));
      assert.doesNotMatch(res.stderr, /\n\s+at /);
      assert.doesNotMatch(res.stderr, /\bepoch \d+\/\d+/, 'no training happened (no epoch line)');
      const run = await onlyRun(clientFor(server.url), experiment);
      assert.equal(run.info.status, 'FAILED');
      assert.match(tagsOf(run)['mlflow.note.content'] ?? '', new RegExp(param));
    });
  }

  it('refuses a target data_dir that does not exist, naming target_data_dir', async () => {
    const res = await runCli(['train', ...flags({ ...TINY, adaptation: 'coral', target_dataset: 'mnist', target_data_dir: join(work, 'no-such-dir') })], env('adapt-bad-dir'));
    assert.equal(res.exitCode, 2, res.stderr.slice(-2000));
    assert.match(res.stderr, /target_data_dir=.*no-such-dir.* is not a directory/);
    assert.equal((await onlyRun(clientFor(server.url), 'adapt-bad-dir')).info.status, 'FAILED');
  });
});
