/**
 * docker/kubernetes: the Job template and backend config are what MLflow's Kubernetes backend
 * reads — checked with zod here and then fed to MLflow's own parser and Job builder (the venv's
 * mlflow), and the README's docker_env switch of MLproject gives a project MLflow loads.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { z } from 'zod';
import { REPO } from '../support/cli.js';
import { venvPython } from '../support/python.js';

const placeholder = (what: string) => z.literal(`{replaced with ${what}}`);
const jobTemplate = z.object({
  apiVersion: z.literal('batch/v1'),
  kind: z.literal('Job'),
  metadata: z.object({ name: placeholder('MLflow Project name'), namespace: z.string().min(1) }),
  spec: z.object({
    backoffLimit: z.number().int().optional(),
    template: z.object({
      spec: z.object({
        restartPolicy: z.enum(['Never', 'OnFailure']),
        containers: z
          .array(
            z.object({
              name: placeholder('MLflow Project name'),
              image: placeholder('URI of Docker image created during Project execution'),
              command: z.array(z.string()).optional(),
              // MLflow appends {name, value} entries to this list.
              env: z.array(z.object({ name: z.string(), value: z.string() })).optional(),
            }),
          )
          .min(1),
      }),
    }),
  }),
});
const backendConfig = z.strictObject({
  'kube-context': z.string().min(1),
  'repository-uri': z.string().min(1),
  'kube-job-template-path': z.string().min(1),
});

const configPath = join(REPO, 'docker', 'kubernetes', 'backend-config.json');

describe('docker/kubernetes', () => {
  it('has a Job template and backend config with the keys MLflow requires', async () => {
    const config = backendConfig.parse(JSON.parse(await readFile(configPath, 'utf8')));
    assert.ok(existsSync(join(REPO, config['kube-job-template-path'])), 'the template path is relative to the project folder');
    jobTemplate.parse(parse(await readFile(join(REPO, config['kube-job-template-path']), 'utf8')));
  });

  it("goes through MLflow's own backend-config parser and Job builder", async () => {
    const script = `
import json, sys, types
# The kubernetes client is not installed here; the Job builder never calls it, so stand-ins do.
k8s = types.ModuleType("kubernetes"); cfg_pkg = types.ModuleType("kubernetes.config"); exc = types.ModuleType("kubernetes.config.config_exception")
exc.ConfigException = Exception
sys.modules.update({"kubernetes": k8s, "kubernetes.config": cfg_pkg, "kubernetes.config.config_exception": exc})
from mlflow.projects import _parse_kubernetes_config
from mlflow.projects.kubernetes import _get_kubernetes_job_definition
cfg = _parse_kubernetes_config(json.load(open(sys.argv[1])))
job = _get_kubernetes_job_definition("transferkit", "repo/transferkit:abc", "sha256:00", ["bash", "scripts/run-entry.sh", "sweep"],
                                     {"MLFLOW_RUN_ID": "r1"}, cfg["kube-job-template"])
print(json.dumps(job))`;
    const res = await execa(venvPython(), ['-c', script, configPath], { cwd: REPO, reject: false });
    assert.equal(res.exitCode, 0, res.stderr);
    const built = z
      .object({
        metadata: z.object({ name: z.string(), namespace: z.string() }),
        spec: z.object({ template: z.object({ spec: z.object({ containers: z.array(z.object({ name: z.string(), image: z.string(), command: z.array(z.string()), env: z.array(z.object({ name: z.string(), value: z.string() })) })) }) }) }),
      })
      .parse(JSON.parse(res.stdout));
    const container = built.spec.template.spec.containers[0];
    assert.ok(container);
    assert.match(built.metadata.name, /^transferkit-/);
    assert.equal(container.image, 'repo/transferkit:abc@sha256:00');
    assert.deepEqual(container.command, ['bash', 'scripts/run-entry.sh', 'sweep']);
    assert.ok(container.env.some((e) => e.name === 'MLFLOW_RUN_ID' && e.value === 'r1'));
  });

  it("the README's docker_env switch of MLproject loads in MLflow with both entry points", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-k8s-'));
    try {
      const text = (await readFile(join(REPO, 'MLproject'), 'utf8')).replace(/^conda_env: conda\.yaml$/m, 'docker_env: {image: transferkit}');
      await writeFile(join(dir, 'MLproject'), text);
      const script = `
import json, sys
from mlflow.projects._project_spec import load_project
p = load_project(sys.argv[1])
print(json.dumps({"docker": p.docker_env, "entry_points": sorted(p._entry_points)}))`;
      const res = await execa(venvPython(), ['-c', script, dir], { reject: false });
      assert.equal(res.exitCode, 0, res.stderr);
      assert.deepEqual(JSON.parse(res.stdout), { docker: { image: 'transferkit' }, entry_points: ['main', 'predict', 'recommend', 'source_target', 'sweep', 'two_stage', 'vgg19_last_block'] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
