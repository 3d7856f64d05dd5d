/**
 * `transferkit recommend` against a real MLflow server, on real data that can be had offline
 * (Fashion-MNIST from Debian): a tiny source model learns classes 0-4 (1 epoch, untracked), then
 * recommend measures classes 5-9 against it. Checked through the REST API: metrics, tags, the
 * recommendation.json artifact; bad input exits 2 and ends the run FAILED; and the MLproject entry.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { childEnv, mlflowRun, runCli, tempDir } from '../support/cli.js';
import { artifactPaths, clientFor, metricsOf, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

const reportFile = z.object({
  recommendation: z.object({ setting: z.string(), reason: z.string(), size: z.string(), similarity: z.string(), command: z.string() }),
  measurements: z.object({ labels_per_class: z.number(), proxy_a_distance: z.number(), mmd: z.number(), source_sample_size: z.number(), feature_layer: z.string() }),
  source: z.object({ dataset: z.string(), class_ids: z.array(z.number()) }),
});

describe('recommend against a real server', () => {
  let server: TestServer;
  let work: string;
  let sourceModel: string;
  const target = (out: string) => [
    '--dataset', 'fashion-mnist', '--classes', '5-9', '--samples_per_class', '30', '--backbone', 'small-cnn', '--input_size', '16',
    '--domain_samples', '40', '--output_dir', out,
  ];

  before(async () => {
    server = await startTestServer();
    work = await tempDir('recommend');
    sourceModel = join(work, 'source', 'model');
    const source = await runCli(
      ['train', '--dataset', 'fashion-mnist', '--classes', '0-4', '--backbone', 'small-cnn', '--weights', 'none', '--retrained_conv_layers', 'all',
        '--input_size', '16', '--samples_per_class', '20', '--max_epochs', '1', '--batch_size', '16', '--output_dir', join(work, 'source')],
      childEnv({ TRANSFERKIT_TRACKING: 'off' }),
    );
    assert.equal(source.exitCode, 0, source.stderr.slice(-2000));
  });
  after(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('logs the measurements, the advice and recommendation.json, then FINISHED', async () => {
    const out = join(work, 'rec');
    const res = await runCli(['recommend', ...target(out), '--weights', sourceModel], childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'recommend' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'recommend');
    assert.equal(run.info.status, 'FINISHED');

    const report = reportFile.parse(JSON.parse(await readFile(join(out, 'recommendation.json'), 'utf8')));
    assert.equal(report.recommendation.setting, 'retrained_conv_layers=0', '30 labels per class is small whatever the similarity');
    assert.equal(report.source.dataset, 'fashion-mnist');
    assert.deepEqual(report.source.class_ids, [0, 1, 2, 3, 4]);
    assert.match(res.stdout, /^labels per class: 30 \(small\)$/m);
    assert.match(res.stdout, /^recommendation: retrained_conv_layers=0$/m);
    assert.match(res.stdout, new RegExp(`MLflow run ${run.info.run_id}`));

    const metrics = metricsOf(run);
    assert.equal(metrics['labels_per_class'], 30);
    assert.equal(metrics['source_sample_size'], 40);
    assert.equal(metrics['target_sample_size'], 40);
    assert.equal(metrics['feature_dim'], 32);
    assert.equal(metrics['proxy_a_distance'], report.measurements.proxy_a_distance);
    assert.ok((metrics['proxy_a_distance'] ?? -1) >= 0 && (metrics['proxy_a_distance'] ?? 3) <= 2);
    const error = metrics['domain_classifier_error'] ?? -1;
    assert.ok(Math.abs((metrics['proxy_a_distance'] ?? 0) - Math.max(0, 2 * (1 - 2 * error))) < 1e-9, 'PAD = 2(1 − 2ε)');
    assert.ok((metrics['mmd'] ?? -1) >= 0);

    const tags = tagsOf(run);
    assert.equal(tags['transferkit.recommendation'], 'retrained_conv_layers=0');
    assert.equal(tags['transferkit.recommendation.reason'], report.recommendation.reason);
    assert.match(tags['transferkit.recommendation.reason'] ?? '', /^30 labels per class is few/);
    assert.equal(tags['transferkit.recommendation.size'], 'small');
    assert.equal(tags['transferkit.feature_layer'], 'block1_conv2');
    assert.equal(tags['transferkit.weights_source'], 'transferkit');
    assert.match(tags['mlflow.note.content'] ?? '', /recommendation: retrained_conv_layers=0/);

    const params = paramsOf(run);
    assert.equal(params['domain_samples'], '40');
    assert.equal(params['seed'], '42', 'defaults are logged too');
    assert.equal(params['effective_source_dataset'], 'fashion-mnist');
    assert.equal(params['effective_source_classes'], '0,1,2,3,4');
    assert.deepEqual(await artifactPaths(client, run), ['recommendation.json']);
  });

  it('exits 2 for bad input, ends the run FAILED and names the parameter', async () => {
    const res = await runCli(
      ['recommend', '--dataset', 'fashion-mnist', '--backbone', 'vgg16', '--weights', 'imagenet', '--source_classes', '0-4'],
      childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'recommend-bad' }),
    );
    assert.equal(res.exitCode, 2, res.stderr.slice(-2000));
    assert.match(res.stderr, /Parameter "source_classes" needs source_dataset with weights=imagenet.*got "0-4"/);
    assert.doesNotMatch(res.stderr, /\n\s+at .*\.(js|ts):\d+/);
    const run = await onlyRun(clientFor(server.url), 'recommend-bad');
    assert.equal(run.info.status, 'FAILED');
    const tags = tagsOf(run);
    assert.equal(tags['transferkit.error_code'], 'ERR_PARAM');
    assert.match(tags['mlflow.note.content'] ?? '', /source_classes/);
  });

  // weights that say nothing of their source (a Keras .h5 file) and no source_dataset: the similarity
  // is not measured, and 1000 labels per class sits at the size threshold, so the table is unsure
  const noSource = (out: string, ...more: string[]) => [
    'recommend', '--dataset', 'fashion-mnist', '--classes', '5-6', '--samples_per_class', '1000', '--backbone', 'small-cnn', '--input_size', '16',
    '--weights', join(sourceModel, 'model.h5'), '--output_dir', out, ...more,
  ];
  const pilotReport = z.object({
    recommendation: z.object({ setting: z.string(), similarity: z.string(), decided_by: z.string(), candidates: z.array(z.string()), sure: z.boolean(), reason: z.string() }),
    pilot: z.object({ status: z.string(), table_pick: z.string(), scores: z.array(z.object({ setting: z.string(), heldOutAccuracy: z.number(), heldOutImages: z.number(), trainImages: z.number(), validationImages: z.number() })) }),
    measurements: z.object({ proxy_a_distance: z.null(), feature_layer: z.null() }),
    source: z.null(),
  });

  it('without a source and unsure: pilot runs on held-out labelled images pick among the candidates', async () => {
    const out = join(work, 'rec-pilot');
    const res = await runCli(noSource(out, '--pilot_epochs', '1'), childEnv({ MLFLOW_TRACKING_URI: server.url, MLFLOW_EXPERIMENT_NAME: 'recommend-pilot' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const report = pilotReport.parse(JSON.parse(await readFile(join(out, 'recommendation.json'), 'utf8')));
    const rec = report.recommendation;
    assert.equal(rec.similarity, 'unknown');
    assert.equal(rec.sure, false);
    assert.deepEqual(rec.candidates, ['retrained_conv_layers=all', 'retrained_conv_layers=0', 'retrained_conv_layers=1']);
    assert.equal(report.pilot.status, 'ran');
    assert.equal(rec.decided_by, 'pilot');
    assert.deepEqual(report.pilot.scores.map((p) => p.setting), rec.candidates, 'one pilot per candidate');
    for (const p of report.pilot.scores) {
      // 2 classes × 1000 labels: 20% held out for scoring, the rest split 80/20 for training
      assert.equal(p.heldOutImages, 400);
      assert.equal(p.trainImages + p.validationImages + p.heldOutImages, 2000);
      assert.ok(p.heldOutAccuracy >= 0 && p.heldOutAccuracy <= 1);
    }
    assert.ok(rec.candidates.includes(rec.setting));
    const best = Math.max(...report.pilot.scores.map((p) => p.heldOutAccuracy));
    const chosen = report.pilot.scores.find((p) => p.setting === rec.setting);
    assert.ok(chosen !== undefined && (rec.setting === report.pilot.table_pick || chosen.heldOutAccuracy === best), 'the table pick, or the best pilot');
    assert.match(res.stdout, /^domain similarity: not measured/m);
    assert.match(res.stdout, /^pilot retrained_conv_layers=0: \d+\.\d% on 400 held-out images/m);

    const run = await onlyRun(clientFor(server.url), 'recommend-pilot');
    assert.equal(run.info.status, 'FINISHED');
    const metrics = metricsOf(run);
    assert.equal(metrics['proxy_a_distance'], undefined, 'not measured: not logged');
    assert.equal(metrics['pilot_accuracy.retrained_conv_layers_0'], report.pilot.scores.find((p) => p.setting === 'retrained_conv_layers=0')?.heldOutAccuracy);
    const tags = tagsOf(run);
    assert.equal(tags['transferkit.pilot'], 'ran');
    assert.equal(tags['transferkit.recommendation.decided_by'], 'pilot');
    assert.equal(tags['transferkit.recommendation'], rec.setting);
    assert.equal(paramsOf(run)['effective_source_dataset'], undefined);
  });

  it('with pilot=off the table answers alone and says it is unsure', async () => {
    const out = join(work, 'rec-nopilot');
    const res = await runCli(noSource(out, '--pilot', 'off'), childEnv({ TRANSFERKIT_TRACKING: 'off' }));
    assert.equal(res.exitCode, 0, res.stderr.slice(-2000));
    const report = pilotReport.parse(JSON.parse(await readFile(join(out, 'recommendation.json'), 'utf8')));
    assert.equal(report.pilot.status, 'off');
    assert.deepEqual(report.pilot.scores, []);
    assert.equal(report.recommendation.decided_by, 'table');
    assert.equal(report.recommendation.setting, 'retrained_conv_layers=all');
    assert.match(res.stdout, /unsure \(.*within a factor 2 of the size threshold.*not measured.*\) between retrained_conv_layers=all, retrained_conv_layers=0, retrained_conv_layers=1; pilot=off/);
  });

  it('runs as the MLproject entry point recommend under `mlflow run`', { timeout: 240_000 }, async () => {
    const res = await mlflowRun(
      {
        dataset: 'fashion-mnist', classes: '5-9', samples_per_class: 'all', backbone: 'small-cnn', weights: sourceModel, input_size: '16',
        domain_samples: '40', pilot: 'off', output_dir: join(work, 'rec-mlflow'), // pilots on 30,000 images are not this test's subject
      },
      childEnv({ MLFLOW_TRACKING_URI: server.url }),
      { entry: 'recommend', experiment: 'recommend-mlflow-run' },
    );
    assert.equal(res.exitCode, 0, res.stderr.slice(-3000));
    const run = await onlyRun(clientFor(server.url), 'recommend-mlflow-run');
    assert.equal(run.info.status, 'FINISHED');
    const tags = tagsOf(run);
    assert.equal(tags['mlflow.project.entryPoint'], 'recommend');
    assert.equal(tags['transferkit.recommendation.size'], 'large', 'every image of 5-9: 6000 labels per class');
    assert.equal(metricsOf(run)['labels_per_class'], 6000);
    assert.equal(paramsOf(run)['samples_per_class'], 'all');
  });
});
