import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BenchOptionsError, parseOptions, ratioTable, runTable, wallRatio, type ConfigResult, type RunResult } from '../../bench/backbones-support.js';

describe('bench/backbones.ts options', () => {
  it('defaults to the full run, and --quick to the small one with its own result name', () => {
    const full = parseOptions([]);
    assert.deepEqual([full.backbones, full.sizes, full.workloads, full.epochs, full.out, full.warm], [['mobilenet_v2', 'efficientnet_b0'], [96, 224], ['frozen', 'last-stage'], 5, 'backbones', true]);
    assert.deepEqual([...full.perClass], [[96, 60], [224, 20]]);
    const quick = parseOptions(['--quick', '--no-warm']);
    assert.equal(quick.out, 'backbones-quick');
    assert.equal(quick.warm, false);
    assert.equal(quick.perClass.get(224), 4);
    assert.equal(quick.test.get(96), 100);
  });

  it('reads lists and size:count pairs', () => {
    const o = parseOptions(['--backbones', 'efficientnet_b0', '--sizes', '128', '--per-class', '128:8', '--test', '128:30', '--epochs', '3', '--workloads', 'last-stage']);
    assert.deepEqual([o.backbones, o.sizes, o.workloads, o.epochs, o.perClass.get(128), o.test.get(128)], [['efficientnet_b0'], [128], ['last-stage'], 3, 8, 30]);
  });

  it('rejects what it cannot run, saying why', () => {
    assert.throws(() => parseOptions(['--fast']), (e: unknown) => e instanceof BenchOptionsError && e.code === 'BENCH_OPTIONS' && /unknown option --fast/.test(e.message));
    assert.throws(() => parseOptions(['--backbones', 'vgg16']), /backbones/);
    assert.throws(() => parseOptions(['--sizes', '128']), /--per-class gives no count for size 128/);
    assert.throws(() => parseOptions(['--per-class', '96:1,224:4']), /at least 2/);
    assert.throws(() => parseOptions(['--test', '96']), /size:count/);
    assert.throws(() => parseOptions(['--epochs']), /--epochs needs a value/);
  });
});

describe('bench/backbones.ts tables', () => {
  const run = (method: RunResult['method'], wall: number, rss: number, ok = true): RunResult => ({ method, ok, wall_seconds: wall, peak_rss_mb: rss, cpu_seconds: wall, contention: 0.5, fit_seconds: 1, test_accuracy: 0.5 });
  const config: ConfigResult = { backbone: 'mobilenet_v2', size: 96, workload: 'frozen', runs: [run('keras', 30, 900), { ...run('tk-cold', 10, 600), cache: { status: 'miss', seconds: 2 } }, run('tk-warm', 5, 500, false)] };

  it('divides Keras wall time by each transferkit method that succeeded', () => {
    assert.equal(wallRatio(config, 'tk-cold'), 3);
    assert.equal(wallRatio(config, 'tk-warm'), undefined);
  });

  it('renders the ratio and RSS row, a dash for a failed run', () => {
    assert.deepEqual(ratioTable([config]).slice(2), ['| mobilenet_v2 | 96 | frozen | 3.00× | – | 900 / 600 / – |']);
  });

  it('renders every run, the failed one marked', () => {
    const rows = runTable([config]).slice(2);
    assert.equal(rows[1], '| mobilenet_v2 | 96 | frozen | tk-cold (cache miss) | 10.0 | 1.00 | 600 | 0.5000 | 3.00× | 50% |');
    assert.equal(rows[2], '| mobilenet_v2 | 96 | frozen | tk-warm | FAILED | | | | | 50% |');
  });
});
