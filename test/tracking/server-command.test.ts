/** Which command starts the private mlflow server: the one-process launcher with the mlflow script's own Python, else `mlflow server`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LAUNCHER, pythonOf, serverCommand } from '../../src/tracking/server-command.js';

describe('serverCommand', () => {
  it('runs the launcher with the Python named by the mlflow script, and mlflow server otherwise', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-server-command-'));
    try {
      // pip writes the /bin/sh form when the path cannot go on a #! line (spaces, length)
      const python = join(dir, 'python3.11');
      const spaced = join(dir, 'long path', 'python');
      await mkdir(join(dir, 'long path'));
      await writeFile(python, '');
      await writeFile(spaced, '');
      const script = async (name: string, text: string) => {
        const file = join(dir, name);
        await writeFile(file, text);
        await chmod(file, 0o755);
        return file;
      };
      const direct = await script('direct', `#!${python}\nimport re\n`);
      const pipLong = await script('pip-long', `#!/bin/sh\n'''exec' "${spaced}" "$0" "$@"\n' '''\nimport re\n`);
      const wrapper = await script('wrapper', '#!/bin/bash\nexec mlflow "$@"\n');
      const missing = await script('missing', `#!${join(dir, 'gone', 'python')}\n`);
      assert.equal(pythonOf(direct), python);
      assert.equal(pythonOf(pipLong), spaced);
      assert.equal(pythonOf(wrapper), undefined);
      assert.equal(pythonOf(missing), undefined);
      assert.deepEqual(serverCommand(direct, ['--port', '1'], {}), { file: python, args: [LAUNCHER, '--port', '1'], kind: 'one-process' });
      const fallback = serverCommand(wrapper, ['--port', '1'], {});
      assert.deepEqual({ ...fallback, fallback: undefined }, { file: wrapper, args: ['server', '--port', '1'], kind: 'cli', fallback: undefined });
      assert.match(fallback.fallback ?? '', /not a Python console script/, 'auto says why it runs mlflow server');
      assert.deepEqual(serverCommand(direct, ['--port', '1'], { TRANSFERKIT_MLFLOW_SERVER: 'cli' }), { file: direct, args: ['server', '--port', '1'], kind: 'cli' });
      assert.deepEqual(serverCommand(direct, ['--port', '1'], { TRANSFERKIT_MLFLOW_SERVER: 'one-process' }).kind, 'one-process');
      assert.deepEqual(serverCommand(direct, ['--port', '1'], { TRANSFERKIT_MLFLOW_SERVER: '' }).kind, 'one-process', 'empty is auto');
      assert.throws(() => serverCommand(wrapper, [], { TRANSFERKIT_MLFLOW_SERVER: 'one-process' }), (e: unknown) =>
        e instanceof Error && 'code' in e && e.code === 'ERR_MLFLOW_SERVER_MODE' && /"one-process".*not a Python console script/.test(e.message));
      // any other value was silently the launcher: now an error naming the variable, the value and the choices
      assert.throws(() => serverCommand(direct, [], { TRANSFERKIT_MLFLOW_SERVER: 'CLI ' }), (e: unknown) =>
        e instanceof Error && 'code' in e && e.code === 'ERR_MLFLOW_SERVER_MODE' &&
        e.message.includes('TRANSFERKIT_MLFLOW_SERVER is "CLI "') && e.message.includes('auto, one-process, cli'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mlflow_server.py', () => {
  it('exits with a message naming the MLflow version when the private _exec_cmd it patches is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'transferkit-launcher-'));
    try {
      // a stand-in mlflow package without mlflow.server._exec_cmd
      await mkdir(join(dir, 'mlflow', 'server'), { recursive: true });
      await writeFile(join(dir, 'mlflow', '__init__.py'), '__version__ = "9.9.9"\n');
      await writeFile(join(dir, 'mlflow', 'server', '__init__.py'), '');
      await writeFile(join(dir, 'mlflow', 'cli.py'), 'def cli(**kwargs):\n    raise SystemExit("cli ran")\n');
      const run = spawnSync('python3', ['-S', LAUNCHER], { env: { PATH: process.env.PATH ?? '', PYTHONPATH: dir }, encoding: 'utf8' });
      assert.equal(run.status, 1);
      assert.match(run.stderr, /MLflow 9\.9\.9 has no mlflow\.server\._exec_cmd.*TRANSFERKIT_MLFLOW_SERVER=cli/s);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
