/** Which command starts the private mlflow server: the one-process launcher with the mlflow script's own Python, else `mlflow server`. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
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
      assert.deepEqual(serverCommand(wrapper, ['--port', '1'], {}), { file: wrapper, args: ['server', '--port', '1'], kind: 'cli' });
      assert.deepEqual(serverCommand(direct, ['--port', '1'], { TRANSFERKIT_MLFLOW_SERVER: 'cli' }), { file: direct, args: ['server', '--port', '1'], kind: 'cli' });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
