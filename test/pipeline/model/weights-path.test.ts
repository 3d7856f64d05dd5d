/**
 * `weights=<path>` that exists but cannot be read is reported as what it is (a WeightsError with the
 * system's code, the path and the fix), not as "neither a known name nor an existing path". The
 * permission cases run in a child process as an unprivileged user when the tests run as root
 * (root ignores file modes).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { ParamError, WeightsError } from '../../../src/errors.js';
import { BACKBONES } from '../../../src/pipeline/model/backbones.js';
import { resolveWeights } from '../../../src/pipeline/model/weights.js';

const WEIGHTS_MODULE = fileURLToPath(new URL('../../../src/pipeline/model/weights.ts', import.meta.url));
const BACKBONES_MODULE = fileURLToPath(new URL('../../../src/pipeline/model/backbones.ts', import.meta.url));
const NOBODY = 65534;
const spec = BACKBONES['small-cnn'];
const deps = (cwd: string) => ({ env: {}, fetch: globalThis.fetch, logger: pino({ level: 'silent' }), cwd });

/** resolveWeights(value) in a child process that cannot bypass file modes; what it threw, as JSON. */
async function resolveAsUnprivileged(dir: string, value: string): Promise<{ name: string; code: string; message: string } | { resolved: string }> {
  const script = join(dir, 'resolve.mts');
  await writeFile(
    script,
    `import { resolveWeights } from ${JSON.stringify(WEIGHTS_MODULE)};\n` +
      `import { BACKBONES } from ${JSON.stringify(BACKBONES_MODULE)};\n` +
      `const logger = { warn() {}, info() {}, debug() {}, error() {} };\n` +
      `try { const r = await resolveWeights(${JSON.stringify(value)}, BACKBONES['small-cnn'], { env: {}, fetch, logger, cwd: '/' });\n` +
      `  console.log(JSON.stringify({ resolved: r.kind })); }\n` +
      `catch (e) { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }\n`,
  );
  await chmod(script, 0o644);
  const root = process.getuid?.() === 0;
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--import', import.meta.resolve('tsx'), script], { cwd: '/', ...(root ? { uid: NOBODY, gid: NOBODY } : {}), env: { ...process.env, HOME: dir } }, (error, out, err) =>
      error === null ? resolve(out) : reject(new Error(`${error.message}\n${err}`)),
    );
  });
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
}

describe('weights given as a path that cannot be read', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-weights-path-'));
    await chmod(dir, 0o755);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('a missing path is still "neither a known name nor an existing path"', async () => {
    await assert.rejects(resolveWeights(join(dir, 'missing.h5'), spec, deps(dir)), (e: unknown) => e instanceof ParamError && /neither a known name nor an existing path/.test(e.message));
  });

  it('a symlink loop is a WeightsError naming ELOOP and the path', async () => {
    await symlink(join(dir, 'b.h5'), join(dir, 'a.h5'));
    await symlink(join(dir, 'a.h5'), join(dir, 'b.h5'));
    await assert.rejects(
      resolveWeights(join(dir, 'a.h5'), spec, deps(dir)),
      (e: unknown) => e instanceof WeightsError && e.code === 'ERR_WEIGHTS' && e.message.includes(join(dir, 'a.h5')) && /ELOOP/.test(e.message),
    );
  });

  it('a file in a folder this user may not enter is a permission error (EACCES), not an unknown name', async () => {
    const locked = join(dir, 'locked');
    await mkdir(locked, { mode: 0o700 });
    await writeFile(join(locked, 'w.h5'), 'x');
    const got = await resolveAsUnprivileged(dir, join(locked, 'w.h5'));
    assert.ok('code' in got, JSON.stringify(got));
    assert.equal(got.code, 'ERR_WEIGHTS', got.message);
    assert.match(got.message, /EACCES/);
    assert.match(got.message, /locked\/w\.h5.*permission/);
    assert.doesNotMatch(got.message, /neither a known name/);
  });

  it('a file this user may not read is a permission error (EACCES) before anything loads', async () => {
    const secret = join(dir, 'secret.h5');
    await writeFile(secret, 'x', { mode: 0o600 });
    await chmod(secret, 0o600);
    const got = await resolveAsUnprivileged(dir, secret);
    assert.ok('code' in got, JSON.stringify(got));
    assert.equal(got.code, 'ERR_WEIGHTS', got.message);
    assert.match(got.message, /secret\.h5.*EACCES/);
  });
});
