#!/usr/bin/env node
// Runs the test suite with node's own test runner (through tsx for TypeScript).
//   node scripts/run-tests.mjs            all tests
//   node scripts/run-tests.mjs unit       only *.test.ts that are not *.int.test.ts
//   node scripts/run-tests.mjs int        only integration tests (*.int.test.ts)
//   node scripts/run-tests.mjs FILTER...  files whose path contains one of the filters
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const walk = (dir) => readdirSync(dir).flatMap((name) => {
  const path = join(dir, name);
  return statSync(path).isDirectory() ? walk(path) : [path];
});
const args = process.argv.slice(2);
let files = walk(join(root, 'test')).filter((f) => f.endsWith('.test.ts')).map((f) => relative(root, f)).sort();
if (args[0] === 'unit') files = files.filter((f) => !f.endsWith('.int.test.ts'));
else if (args[0] === 'int') files = files.filter((f) => f.endsWith('.int.test.ts'));
else if (args.length > 0) files = files.filter((f) => args.some((a) => f.includes(a)));
if (files.length === 0) {
  console.error(`no test files match ${JSON.stringify(args)}`);
  process.exit(1);
}
// Integration tests run the built CLI (dist/), so build first: a stale dist/ would test old code.
const build = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.error('TypeScript build failed');
  process.exit(build.status ?? 1);
}
const env = { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' };
const res = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
  cwd: root, stdio: 'inherit', env,
});
process.exit(res.status ?? 1);
