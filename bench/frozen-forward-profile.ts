/**
 * Where the frozen forward's time goes: tf.profile of one batch of 32 per transferkit mode (predict,
 * fused) for the configurations of bench/frozen-forward.ts, on the `.h5` files that run made
 * (bench/.data/frozen-forward/). Kernel times are wall times of synchronous native calls, summed by
 * tfjs kernel name; a fused conv's time includes the Add and activation it runs inside.
 *
 *   node --import tsx bench/frozen-forward-profile.ts    → bench/results/frozen-forward-profile.json and .md
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BENCH, REPO, childEnv, dataRoot, machine } from './speed-support.js';

const dir = join(await dataRoot(), 'frozen-forward');
const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH, 'frozen-forward-tk.ts')], { env: childEnv({ TF_CPP_MIN_LOG_LEVEL: '2' }) as NodeJS.ProcessEnv, cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
const next = async (): Promise<unknown> => {
  const { value, done } = await lines.next();
  if (done === true || typeof value !== 'string') throw new Error('the worker exited');
  return JSON.parse(value);
};
const ready = await next();
const ask = async (job: object) => {
  child.stdin.write(`${JSON.stringify(job)}\n`);
  return next();
};
const rows: Array<{ backbone: string; size: number; mode: string; repeat: number; result: unknown }> = [];
for (const backbone of ['mobilenet_v2', 'efficientnet_lite0']) {
  const h5 = join(dir, `${backbone}.h5`);
  for (const size of [96, 224]) {
    // the first 32 images of the pixels bench/frozen-forward.ts wrote at this size
    const file = (await readdir(dir)).find((f) => f.startsWith(`pixels-${size}-`) && f.endsWith('.f32'));
    if (!existsSync(h5) || file === undefined) throw new Error(`run bench/frozen-forward.ts first (it makes ${h5} and the pixels at ${size} px)`);
    const images = join(dir, file);
    for (let repeat = 0; repeat < 3; repeat++) {
      for (const mode of ['predict', 'fused']) rows.push({ backbone, size, mode, repeat, result: await ask({ cmd: 'profile', backbone, h5, size, images, count: 32, batch: 32, mode }) });
    }
  }
}
child.stdin.end();
const git = (...a: string[]) => execFileSync('git', ['-C', REPO, ...a], { encoding: 'utf8' }).trim();
const commit = git('rev-parse', '--short', 'HEAD');
const command = 'node --import tsx bench/frozen-forward-profile.ts';
const out = { command, commit, date: new Date().toISOString(), machine: await machine({}), worker: ready, rows };
await writeFile(join(BENCH, 'results', 'frozen-forward-profile.json'), `${JSON.stringify(out, null, 2)}\n`);

const entries = (o: unknown): Array<[string, unknown]> => (typeof o === 'object' && o !== null ? Object.entries(o) : []);
const get = (o: unknown, k: string): unknown => entries(o).find(([key]) => key === k)?.[1];
const md = [
  '# Frozen forward: where one batch of 32 spends its time (tf.profile)',
  '',
  `\`${command}\` at commit \`${commit}\`, ${out.date.slice(0, 16)} UTC, ${out.machine.cpu_model}, ${out.machine.cpus} CPUs, shared with other work. Three repeats per row; kernel ms summed by tfjs kernel name (top 6; a fused conv includes its inner Add and activation).`,
  '',
  '| backbone | px | mode | repeat | wall ms | top kernels: ms (calls) |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => {
    const wall = get(r.result, 'wall_ms');
    const kernels = entries(get(r.result, 'kernels')).slice(0, 6).map(([k, v]) => `${k} ${Number(get(v, 'ms')).toFixed(0)} (${String(get(v, 'calls'))})`);
    return `| ${r.backbone} | ${r.size} | ${r.mode} | ${r.repeat + 1} | ${typeof wall === 'number' ? wall.toFixed(0) : '?'} | ${kernels.join(', ')} |`;
  }),
  '',
];
await writeFile(join(BENCH, 'results', 'frozen-forward-profile.md'), md.join('\n'));
