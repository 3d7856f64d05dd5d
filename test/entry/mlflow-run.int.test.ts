/**
 * `mlflow run . --env-manager local` of this repo against a real MLflow server, on tiny data in the
 * official formats made by the tests, then everything checked through the REST API.
 */
import { after, before, describe, it } from 'node:test';
import { VGG_FILTERS } from '../../src/pipeline/model/arch/vgg.js';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKBONES } from '../../src/pipeline/model/backbones.js';
import { childEnv, mlflowRun, tempDir, tinyCifar } from '../support/cli.js';
import { makeKerasNotopH5 } from '../support/make-keras-h5.js';
import { artifactPaths, clientFor, historySteps, metricsOf, onlyRun, paramsOf, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';

describe('mlflow run (main entry point) against a real server', () => {
  let server: TestServer;
  let data: string;
  let work: string;
  let weights: string;

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 50);
    work = await tempDir('e2e');
    weights = join(work, 'vgg16_notop.h5');
    await makeKerasNotopH5(weights, VGG_FILTERS.vgg16, { seed: 3 });
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('logs params, per-epoch metrics, test metrics, tags and the model, then FINISHED', async () => {
    const out = join(work, 'out-main');
    const res = await mlflowRun(
      {
        retrained_conv_layers: '2', data_dir: data, weights, samples_per_class: '8', max_epochs: '2', use_early_stop: '0',
        output_dir: out, batch_size: '16',
      },
      childEnv({ MLFLOW_TRACKING_URI: server.url }),
      { experiment: 'e2e-main' },
    );
    assert.equal(res.exitCode, 0, `mlflow run failed:\n${res.stderr.slice(-3000)}`);
    const client = clientFor(server.url);
    const run = await onlyRun(client, 'e2e-main');
    assert.equal(run.info.status, 'FINISHED');

    const params = paramsOf(run);
    assert.equal(params['retrained_conv_layers'], '2');
    assert.equal(params['samples_per_class'], '8');
    assert.equal(params['use_early_stop'], '0');
    assert.equal(params['dataset'], 'cifar10');
    assert.equal(params['effective_input_size'], '32');
    assert.equal(params['effective_trainable_conv_layers'], 'block5_conv2,block5_conv3');

    for (const key of ['loss', 'accuracy', 'val_loss', 'val_accuracy', 'epoch_seconds']) {
      assert.deepEqual(await historySteps(client, run.info.run_id, key), [0, 1], `steps of ${key}`);
    }
    const metrics = metricsOf(run);
    const local = JSON.parse(await readFile(join(out, 'evaluation', 'test_metrics.json'), 'utf8'));
    assert.equal(metrics['test_accuracy'], local.accuracy);
    assert.ok(Math.abs((metrics['test_loss'] ?? 0) - local.loss) < 1e-9);
    // per-class accuracy is a table artifact, not ten single-step metrics the run page would chart first
    assert.deepEqual(Object.keys(metrics).filter((k) => k.includes('class')), []);

    const tags = tagsOf(run);
    assert.equal(tags['transferkit.backend'], 'tensorflow');
    assert.equal(tags['transferkit.tensorflow_version'], '2.21.0');
    assert.equal(tags['transferkit.weights_source'], 'keras-h5');
    assert.match(tags['transferkit.data_fingerprint'] ?? '', /^[0-9a-f]{16,}/);
    assert.equal(tags['mlflow.project.entryPoint'], 'main');
    assert.match(tags['mlflow.log-model.history'] ?? '', /"artifact_path": ?"model"/);

    const files = await artifactPaths(client, run);
    const artifactFiles = ['model/MLmodel', 'model/model.h5', 'model/model.json', 'model/weights.bin', 'model/transferkit.json', 'evaluation/confusion_matrix.csv', 'evaluation/per_class_accuracy.json', 'metrics.json', 'report.html'];
    for (const f of artifactFiles) assert.ok(files.includes(f), `artifact ${f} in ${files.join(', ')}`);
    assert.deepEqual(JSON.parse(tags['mlflow.loggedArtifacts'] ?? '[]'), [{ path: 'evaluation/per_class_accuracy.json', type: 'table' }]);
    assert.equal(tags['transferkit.report'], 'report.html');
    assert.match(tags['mlflow.note.content'] ?? '', new RegExp(`\\[report\\.html\\]\\(#/experiments/${run.info.experiment_id}/runs/${run.info.run_id}/artifacts/report\\.html`));
    // the experiment `mlflow run` created is marked as model training for MLflow's UI
    const experiment = await client.getExperimentByName('e2e-main');
    assert.equal(experiment?.tags.find((t) => t.key === 'mlflow.experimentKind')?.value, 'custom_model_development');
  });

  it('ends FAILED with the message for a bad parameter, exit code non-zero, no stack trace', async () => {
    const res = await mlflowRun({ samples_per_class: 'abc', data_dir: data }, childEnv({ MLFLOW_TRACKING_URI: server.url }), { experiment: 'e2e-bad' });
    assert.notEqual(res.exitCode, 0);
    assert.match(res.stderr, /Parameter "samples_per_class" must be a whole number from 1 to 1000000, or "all", got "abc" \(string\)/);
    assert.doesNotMatch(res.stderr, /\n\s+at .*\.(js|ts):\d+/);
    const run = await onlyRun(clientFor(server.url), 'e2e-bad');
    assert.equal(run.info.status, 'FAILED');
    const tags = tagsOf(run);
    assert.match(tags['mlflow.note.content'] ?? '', /samples_per_class.*"abc"/);
    assert.equal(tags['transferkit.error_code'], 'ERR_PARAM');
  });
});
