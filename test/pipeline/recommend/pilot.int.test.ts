/**
 * Real pilots (tfjs-node, small-cnn) on a tiny MNIST-format dataset: two candidates scored on the
 * same held-out images, the dataset's test set never read by training or evaluation (every set the
 * run touches reports its size to the progress display, and the test set's size is one no pilot set
 * has), the temporary output folders gone afterwards, also when a pilot fails.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pino } from 'pino';
import { z } from 'zod';
import type { PipelineDeps } from '../../../src/pipeline/deps.js';
import { parseParams } from '../../../src/pipeline/params/parse.js';
import { trainParamsSchema } from '../../../src/pipeline/params/train.js';
import type { Progress } from '../../../src/pipeline/progress.js';
import { runPilots, type PilotCandidate } from '../../../src/pipeline/recommend/pilot.js';
import { tempDir } from '../../support/cli.js';
import { syntheticImageSet, writeIdxDataset } from '../../support/make-datasets.js';

const CLASSES = 3;
const LABELS = 20;
/** 13 test images per class: 39, a size no pilot set has (15 held out, 9 validate, 36 train). */
const TEST_PER_CLASS = 13;

describe('pilot runs (real backend)', { timeout: 300_000 }, () => {
  let work = '';
  let data = '';

  before(async () => {
    work = await tempDir('pilot');
    data = join(work, 'mnist');
    const shape = { height: 28, width: 28, channels: 1 as const, numClasses: 10 };
    await writeIdxDataset(data, syntheticImageSet({ ...shape, count: 300, seed: 11 }), syntheticImageSet({ ...shape, count: 10 * TEST_PER_CLASS, seed: 12 }), { gzip: true });
  });
  after(() => rm(work, { recursive: true, force: true }));

  const base = () => parseParams(trainParamsSchema, {
    dataset: 'mnist', data_dir: data, classes: '0-2', samples_per_class: String(LABELS), backbone: 'small-cnn', weights: 'none', batch_size: '16', seed: '5', activation_cache: 'on',
  });
  // the third freezes the same layers as the first: its activation cache hits only if it reads the same images
  const candidates: PilotCandidate[] = [
    { setting: 'retrained_conv_layers=0', params: { retrained_conv_layers: '0' } },
    { setting: 'retrained_conv_layers=all', params: { retrained_conv_layers: 'all' } },
    { setting: 'retrained_conv_layers=0 dropout=0.25', params: { retrained_conv_layers: '0', dropout: '0.25' } },
  ];

  /** Deps whose progress display records every step started: its label and how many images it covers. */
  function deps(outputDir: string, onStart: (label: string) => void = () => undefined) {
    const steps: { label: string; total: number }[] = [];
    const lines: string[] = [];
    const progress: Progress = {
      start: (label, total) => {
        steps.push({ label, total });
        onStart(label);
        return { advance: () => undefined, end: () => undefined };
      },
    };
    const d: PipelineDeps = {
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      progress, env: {}, fetch, now: () => Date.now(), cwd: work, cacheDir: join(work, 'cache'), outputDir,
    };
    return { d, steps, lines };
  }

  it('scores each candidate on the same held-out images, never on the dataset\'s test set, and leaves no folder behind', async () => {
    const out = join(work, 'out');
    const { d, steps, lines } = deps(out);
    const scores = await runPilots(base(), candidates, { maxEpochs: 2, holdOutFraction: 0.25 }, d);

    assert.deepEqual(scores.map((s) => s.setting), candidates.map((c) => c.setting));
    const heldOut = CLASSES * Math.round(LABELS * 0.25); // 5 of each class's 20
    const validation = CLASSES * Math.round((LABELS - 5) * 0.2); // 3 of the other 15
    for (const s of scores) {
      assert.equal(s.heldOutImages, heldOut);
      assert.equal(s.validationImages, validation);
      assert.equal(s.trainImages + s.validationImages + s.heldOutImages, CLASSES * LABELS, 'the pilot sets are the labelled budget');
      assert.ok(s.heldOutAccuracy >= 0 && s.heldOutAccuracy <= 1, `accuracy ${s.heldOutAccuracy}`);
      assert.ok(Number.isFinite(s.heldOutLoss) && s.heldOutLoss > 0, `loss ${s.heldOutLoss}`);
      assert.equal(s.epochs, 2, 'maxEpochs, not train\'s default 20 (patience 3 cannot stop it sooner)');
      assert.equal(s.headSolver, 'adam', 'small-cnn keeps its Flatten head, trained with Adam');
      assert.ok(s.seconds > 0);
    }

    // every set evaluated at the end is a pilot's held-out set, one per pilot
    const evaluated = steps.filter((s) => s.label === 'test set');
    assert.deepEqual(evaluated.map((s) => s.total), [heldOut, heldOut, heldOut]);
    // no step of either pilot (epochs, caches, evaluations) read as many images as the dataset's test set has
    const testImages = CLASSES * TEST_PER_CLASS;
    assert.ok(steps.length > evaluated.length, 'the epochs report their images too');
    assert.deepEqual(steps.filter((s) => s.total === testImages), [], `no step over the ${testImages} test images`);

    const logLine = z.object({ msg: z.string(), setting: z.string().optional(), pilot: z.string().optional(), status: z.string().optional(), in_memory: z.array(z.string()).optional() });
    const logged = lines.map((l) => logLine.parse(JSON.parse(l)));
    const finished = logged.filter((l) => l.msg === 'pilot finished');
    assert.deepEqual(finished.map((l) => l.setting), candidates.map((c) => c.setting), 'one log line per pilot');
    // the cache is keyed by the images' content: the third pilot found all three of its sets cached by the first
    const caches = logged.filter((l) => l.msg === 'activation cache ready').map((l) => [l.pilot, l.status, l.in_memory]);
    assert.deepEqual(caches[0], [candidates[0]?.setting, 'miss', ['train', 'validation', 'test']]);
    assert.deepEqual(caches.at(-1), [candidates[2]?.setting, 'hit', ['train', 'validation', 'test']], 'the same training, validation and held-out images');
    assert.deepEqual(await readdir(out), [], 'each pilot\'s folder removed');
  });

  it('removes the pilot\'s folder when it fails midway, and refuses a budget too small to pilot before training', async () => {
    const out = join(work, 'failing');
    const stop = new AbortController();
    let during: string[] = [];
    const { d } = deps(out, (label) => {
      if (!label.startsWith('epoch')) return;
      during = readdirSync(out);
      stop.abort(new Error('stopped in the first epoch'));
    });
    await assert.rejects(runPilots(base(), candidates, { maxEpochs: 2, holdOutFraction: 0.25 }, { ...d, signal: stop.signal }), /stopped in the first epoch/);
    assert.equal(during.length, 1, 'the pilot had its folder while training');
    assert.match(during[0] ?? '', /^\.pilot-/);
    assert.deepEqual(await readdir(out), [], 'its folder removed');

    const tiny = join(work, 'tiny');
    await assert.rejects(runPilots({ ...base(), samples_per_class: 2 }, candidates, { maxEpochs: 2, holdOutFraction: 0.25 }, deps(tiny).d), (e: unknown) =>
      e instanceof Error && 'code' in e && e.code === 'ERR_PARAM' && /has 2 labelled images, too few for a pilot.*at least 3/.test(e.message));
  });
});
