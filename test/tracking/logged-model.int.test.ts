/**
 * A run against a real `mlflow server`, trained in-process by `transferkit train` (small-cnn on a
 * tiny CIFAR-10) with register_model: its model is a READY logged model linked to the run, it is
 * version 1 of the registered model (a second run makes version 2), `models:/<name>/1` resolves
 * with resolveModelUri to a folder whose files equal the run's model/, and the venv's MLflow
 * (`mlflow.pyfunc.load_model`, `mlflow models serve`) predicts what tfjs does. Unknown runs,
 * models, versions and aliases are ModelErrors naming the URI; a registry that refuses fails the run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { trainCommand } from '../../src/entry/train.js';
import { RunArtifacts } from '../../src/mlflow/artifacts.js';
import { findMlflow } from '../../src/mlflow/find-mlflow.js';
import { MlflowModels } from '../../src/mlflow/models.js';
import { loadClassifier } from '../../src/predict/classifier.js';
import { resolveModelUri } from '../../src/predict/resolve-uri.js';
import { startLocalServer } from '../../src/tracking/local-server.js';
import { childEnv, runCli, tempDir, tinyCifar } from '../support/cli.js';
import { png, put } from '../support/make-images.js';
import { launchChromium, testOutputDir } from '../support/chromium.js';
import { clientFor, onlyRun, tagsOf } from '../support/mlflow-checks.js';
import { startTestServer, type TestServer } from '../support/mlflow-server.js';
import { runKerasPython } from '../support/python.js';
import { serveModel } from '../support/serve-mlflow-model.js';

const SIZE = 28; // small-cnn's default input size
const NAME = 'tk-cifar-classifier';
const silent = pino({ level: 'silent' });

async function train(url: string, experiment: string, args: readonly string[], work: string, data: string): Promise<{ code: number; out: string }> {
  let out = '';
  const write = { write: (text: string) => (out += text) };
  const code = await trainCommand(
    ['--backbone', 'small-cnn', '--weights', 'none', '--data_dir', data, '--samples_per_class', '4', '--max_epochs', '1', '--output_dir', join(work, experiment), '--cache_dir', join(work, 'downloads'), ...args],
    { env: { MLFLOW_TRACKING_URI: url, MLFLOW_EXPERIMENT_NAME: experiment, TRANSFERKIT_MLFLOW_RETRIES: '1' }, cwd: work, fetch: globalThis.fetch, now: () => Date.now(), stdout: write, stderr: write, logger: silent },
  );
  return { code, out };
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.set(relative(dir, join(entry.parentPath, entry.name)), await readFile(join(entry.parentPath, entry.name)));
  }
  return out;
}

const grey = (n: number) => Float32Array.from({ length: n * SIZE * SIZE * 3 }, (_, i) => (i * 37) % 256);
const nested = (pixels: Float32Array, n: number) =>
  Array.from({ length: n }, (_, b) => Array.from({ length: SIZE }, (_, y) => Array.from({ length: SIZE }, (_, x) => Array.from(pixels.subarray(((b * SIZE + y) * SIZE + x) * 3, ((b * SIZE + y) * SIZE + x) * 3 + 3)))));
const maxDiff = (a: readonly number[], b: readonly number[]) => Math.max(...a.map((v, i) => Math.abs(v - (b[i] ?? Number.NaN))));

describe('logged models and the Model Registry on a real server', () => {
  let server: TestServer;
  let data: string;
  let work: string;
  let runId: string;
  let modelId: string;
  let cacheDir: string;

  before(async () => {
    server = await startTestServer();
    data = await tinyCifar(20, 50);
    work = await tempDir('logged-model');
    cacheDir = join(work, 'cache');
    const res = await train(server.url, 'first', ['--register_model', NAME], work, data);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, new RegExp(`registered as models:/${NAME}/1`));
    const run = await onlyRun(clientFor(server.url), 'first');
    runId = run.info.run_id;
    const output = run.outputs.model_outputs[0];
    assert.ok(output, 'the run has a model output');
    modelId = output.model_id;
  });
  after(async () => {
    await server?.stop();
    await rm(data, { recursive: true, force: true });
    await rm(work, { recursive: true, force: true });
  });

  it('logs the model as a READY logged model linked to the run, with the same files as the run\'s model/', async () => {
    const client = clientFor(server.url);
    const run = await client.getRun(runId);
    assert.equal(run.info.status, 'FINISHED');
    assert.deepEqual(run.outputs.model_outputs, [{ model_id: modelId, step: 0 }]);
    const logged = await new MlflowModels(client.http).getLoggedModel(modelId);
    assert.equal(logged.info.status, 'LOGGED_MODEL_READY');
    assert.equal(logged.info.source_run_id, runId);
    assert.equal(logged.info.name, 'model');
    const inModel = (await new RunArtifacts(client.http, logged.info.artifact_uri).listFiles()).map((f) => f.path);
    const inRun = (await new RunArtifacts(client.http, run.info.artifact_uri).listFiles('model')).map((f) => f.path.replace(/^model\//, ''));
    assert.deepEqual(inModel, inRun);
    for (const f of ['MLmodel', 'model.h5', 'model.json', 'weights.bin', 'transferkit.json', 'conda.yaml', 'python_env.yaml', 'requirements.txt', 'input_example.json']) assert.ok(inModel.includes(f), f);
    const mlmodel = (await new RunArtifacts(client.http, logged.info.artifact_uri).download('MLmodel')).toString('utf8');
    assert.match(mlmodel, new RegExp(`model_id: ${modelId}`));
    assert.match(mlmodel, new RegExp(`run_id: ${runId}`));
    const history = z.array(z.object({ artifact_path: z.string(), model_uuid: z.string(), flavors: z.record(z.string(), z.unknown()) })).parse(JSON.parse(tagsOf(run)['mlflow.log-model.history'] ?? '[]'));
    assert.equal(history.length, 1);
    assert.equal(history[0]?.artifact_path, 'model');
    assert.equal(history[0]?.model_uuid, modelId);
    assert.deepEqual(Object.keys(history[0]?.flavors ?? {}).sort(), ['python_function', 'tensorflow', 'transferkit']);
  });

  it('registers version 1 from the logged model and tags the run with it', async () => {
    const client = clientFor(server.url);
    const models = new MlflowModels(client.http);
    const version = await models.getModelVersion(NAME, '1');
    const logged = await models.getLoggedModel(modelId);
    assert.equal(version?.source, logged.info.artifact_uri);
    assert.equal(version?.run_id, runId);
    // the server records the registration on the logged model too
    const recorded = logged.info.tags.find((t) => t.key === 'mlflow.modelVersions')?.value ?? '[]';
    assert.deepEqual(JSON.parse(recorded), [{ name: NAME, version: 1 }]);
    const tags = tagsOf(await client.getRun(runId));
    assert.equal(tags['transferkit.registered_model_version'], '1');
    assert.equal(tags['transferkit.registered_model_name'], NAME);
  });

  it(`resolves models:/${NAME}/1 and runs:/<id>/model to folders whose files equal the run's, downloaded once`, async () => {
    const requests: string[] = [];
    const counting: typeof fetch = (input, init) => {
      requests.push(String(input));
      return globalThis.fetch(input, init);
    };
    const deps = { env: { MLFLOW_TRACKING_URI: server.url }, fetch: counting, logger: silent, cacheDir };
    const dir = await resolveModelUri(`models:/${NAME}/1`, deps);
    const local = await filesOf(join(work, 'first', 'model'));
    const downloaded = await filesOf(dir);
    assert.deepEqual([...downloaded.keys()].sort(), [...local.keys()].sort());
    for (const [name, bytes] of local) assert.ok(bytes.equals(downloaded.get(name) ?? Buffer.alloc(0)), `${name} is the same`);
    const fromRun = await resolveModelUri(`runs:/${runId}/model`, deps);
    assert.deepEqual([...(await filesOf(fromRun)).keys()].sort(), [...local.keys()].sort());
    assert.equal(await resolveModelUri(`models:/${NAME}/latest`, deps), dir, 'latest is version 1 (same source, same folder)');
    // complete folders are re-used: no second download
    const before = requests.filter((r) => r.includes('mlflow-artifacts')).length;
    assert.equal(await resolveModelUri(`models:/${NAME}/1`, deps), dir);
    assert.equal(requests.filter((r) => r.includes('mlflow-artifacts')).length, before);
    assert.deepEqual((await readdir(join(cacheDir, 'mlflow-models'))).filter((n) => n.startsWith('.')), [], 'no partial folders left');
  });

  it('is loaded by mlflow.pyfunc from models:/ and served by `mlflow models serve`, predicting what tfjs does', async () => {
    const dir = await resolveModelUri(`models:/${NAME}/1`, { env: { MLFLOW_TRACKING_URI: server.url }, fetch: globalThis.fetch, logger: silent, cacheDir });
    const n = 2;
    const pixels = grey(n);
    const classifier = await loadClassifier(dir);
    const tfjs = Array.from(await classifier.predict(pixels, n));
    classifier.dispose();
    await writeFile(join(work, 'x.json'), JSON.stringify(nested(pixels, n)));
    const script = `
import json, sys, os, numpy as np, mlflow
job = json.loads(sys.argv[1])
os.environ["MLFLOW_TRACKING_URI"] = job["tracking"]
m = mlflow.pyfunc.load_model(job["uri"])
x = np.array(json.load(open(job["x"])), dtype=np.float32)
with open(job["out"], "w") as f:
    json.dump(np.asarray(m.predict(x)).tolist(), f)`;
    await runKerasPython(script, { tracking: server.url, uri: `models:/${NAME}/1`, x: join(work, 'x.json'), out: join(work, 'py.json') });
    const pyfunc = z.array(z.array(z.number())).parse(JSON.parse(await readFile(join(work, 'py.json'), 'utf8'))).flat();
    assert.ok(maxDiff(pyfunc, tfjs) <= 1e-4, `pyfunc vs tfjs ${maxDiff(pyfunc, tfjs)}`);

    const served = await serveModel(`models:/${NAME}/1`, { MLFLOW_TRACKING_URI: server.url });
    try {
      const res = await fetch(`${served.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ inputs: nested(pixels, n) }) });
      assert.equal(res.status, 200, await res.clone().text());
      const body = z.object({ predictions: z.array(z.array(z.number())) }).parse(await res.json());
      assert.ok(maxDiff(body.predictions.flat(), tfjs) <= 1e-4, `served vs tfjs ${maxDiff(body.predictions.flat(), tfjs)}`);
      const example = await readFile(join(dir, 'serving_input_example.json'), 'utf8');
      const exampleRes = await fetch(`${served.url}/invocations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: example });
      assert.equal(exampleRes.status, 200, 'the serving input example is accepted');
    } finally {
      await served.stop();
    }
  });

  it(`transferkit predict --model models:/${NAME}/1 (through the tracking server) predicts what the run's own model folder predicts`, async () => {
    const photo = join(work, 'photo.png');
    await put(photo, await png(SIZE, SIZE, (y, x) => [(x * 9) % 256, (y * 7) % 256, 120]));
    const viaUri = await runCli(['predict', '--model', `models:/${NAME}/1`, '--format', 'json', '--output', join(work, 'uri.json'), photo], childEnv({ MLFLOW_TRACKING_URI: server.url, TRANSFERKIT_CACHE: cacheDir }));
    assert.equal(viaUri.exitCode, 0, viaUri.stderr);
    const local = await runCli(['predict', '--model', join(work, 'first', 'model'), '--format', 'json', '--output', join(work, 'local.json'), photo], childEnv({}));
    assert.equal(local.exitCode, 0, local.stderr);
    const top = async (f: string) => z.object({ predictions: z.array(z.object({ top: z.array(z.object({ class: z.string(), probability: z.number() })) })) }).parse(JSON.parse(await readFile(join(work, f), 'utf8'))).predictions[0]?.top;
    assert.deepEqual(await top('uri.json'), await top('local.json'));
    const unknown = await runCli(['predict', '--model', `models:/${NAME}/9`, photo], childEnv({ MLFLOW_TRACKING_URI: server.url, TRANSFERKIT_CACHE: cacheDir }));
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, new RegExp(`models:/${NAME}/9`));
  });

  it("shows the registered model on the MLflow UI's Models page (headless Chromium)", async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
      page.setDefaultTimeout(30_000);
      await page.goto(`${server.url}/#/models`);
      const link = page.getByRole('link', { name: NAME, exact: true });
      await link.first().waitFor({ state: 'visible' });
      // 3.17 greets a first visit with a dialog about its new registry UI over the list.
      if (await page.getByRole('dialog').first().isVisible()) await page.keyboard.press('Escape');
      await page.getByRole('dialog').first().waitFor({ state: 'hidden' });
      const row = page.getByRole('row').filter({ has: link });
      await row.getByRole('link', { name: 'Version 1', exact: true }).first().waitFor({ state: 'visible' });
      await page.screenshot({ path: join(await testOutputDir('mlflow-ui'), 'registered-model.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });

  it('a second run registering the same name makes version 2', async () => {
    const res = await train(server.url, 'second', ['--register_model', NAME], work, data);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, new RegExp(`registered as models:/${NAME}/2`));
    const models = new MlflowModels(clientFor(server.url).http);
    assert.deepEqual(await models.listVersions(NAME), ['1', '2']);
    assert.equal(tagsOf(await onlyRun(clientFor(server.url), 'second'))['transferkit.registered_model_version'], '2');
  });

  it('unknown runs, models, versions and aliases are ModelErrors naming the URI and what exists', async () => {
    const deps = { env: { MLFLOW_TRACKING_URI: server.url }, fetch: globalThis.fetch, logger: silent, cacheDir };
    const fails = async (uri: string, what: RegExp) =>
      assert.rejects(resolveModelUri(uri, deps), (e: unknown) => {
        assert.ok(e instanceof Error && 'code' in e && e.code === 'ERR_MODEL', String(e));
        assert.ok(e.message.includes(uri), `${e.message} names ${uri}`);
        assert.match(e.message, what);
        return true;
      });
    await fails('runs:/0123456789abcdef0123456789abcdef/model', /has no run/);
    await fails(`runs:/${runId}/nothing-here`, /its artifacts: .*model\/.*its logged models: model \(m-/);
    await fails('models:/no-such-model/1', new RegExp(`no model named "no-such-model"; registered models: "${NAME}"`));
    await fails(`models:/${NAME}/9`, /has no version 9; its versions: 1, 2/);
    await fails(`models:/${NAME}@champion`, /has no alias "champion"/);
    await fails('models:/m-0000', /has no logged model/);
    await fails(`runs:/${runId}/../escape`, /\.\./);
    await assert.rejects(resolveModelUri(`models:/${NAME}/1`, { ...deps, env: {} }), /MLFLOW_TRACKING_URI is not set/);
  });

  it('a registry that refuses the version fails the run with ERR_MODEL_REGISTRY; the logged model stays READY', async () => {
    // a real server whose registry only accepts sources on s3://
    const dir = await tempDir('refusing');
    const refusing = await startLocalServer({
      storeUri: `sqlite:///${join(dir, 'db.sqlite')}`,
      artifactsDestination: join(dir, 'art'),
      mlflowBin: findMlflow({ env: process.env }),
      env: { ...process.env, MLFLOW_CREATE_MODEL_VERSION_SOURCE_VALIDATION_REGEX: '^s3://' },
      cwd: dir,
      startTimeoutMs: 60_000,
    });
    try {
      const res = await train(refusing.url, 'refused', ['--register_model', NAME], work, data);
      assert.equal(res.code, 2, res.out);
      assert.match(res.out, /Registering the run's model as "tk-cifar-classifier".*Invalid model version source/s);
      const run = await onlyRun(clientFor(refusing.url), 'refused');
      assert.equal(run.info.status, 'FAILED');
      assert.equal(tagsOf(run)['transferkit.error_code'], 'ERR_MODEL_REGISTRY');
      const id = run.outputs.model_outputs[0]?.model_id ?? '';
      assert.equal((await new MlflowModels(clientFor(refusing.url).http).getLoggedModel(id)).info.status, 'LOGGED_MODEL_READY');
    } finally {
      await refusing.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a name MLflow refuses is a parameter error before training, and the run ends FAILED', async () => {
    const res = await train(server.url, 'bad-name', ['--register_model', 'team/model'], work, data);
    assert.equal(res.code, 2);
    assert.match(res.out, /Parameter "register_model" must be .*"team\/model"/);
    const run = await onlyRun(clientFor(server.url), 'bad-name');
    assert.equal(run.info.status, 'FAILED');
    assert.equal(tagsOf(run)['transferkit.error_code'], 'ERR_PARAM');
  });
});
