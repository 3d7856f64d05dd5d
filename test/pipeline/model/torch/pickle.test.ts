/**
 * The restricted pickle machine on pickles written by Python's own `pickle` module (protocols 2 and
 * 4) and by hand: plain data decodes as Python wrote it; globals outside the allow-list, calls of
 * referenced-only globals, opcodes that build objects and damaged pickles are refused with a
 * WeightsError that names them, and nothing the pickle asks for is run.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { WeightsError } from '../../../../src/errors.js';
import { type ReadPickleOptions, readPickle } from '../../../../src/pipeline/model/torch/pickle.js';
import {
  type AllowedGlobal, type PickleValue, PickleCall, PickleDict, PickleGlobal, PickleList, PicklePersistent, PickleTuple,
} from '../../../../src/pipeline/model/torch/pickle-values.js';

/** What `pickle.dumps(<expr>, protocol)` writes, from the system python3 (stdlib only). */
const pyPickle = async (expr: string, protocol: number, prelude = ''): Promise<Buffer> => {
  const script = `import collections, os, pickle, subprocess, sys\n${prelude}\nsys.stdout.buffer.write(pickle.dumps(${expr}, protocol=${protocol}))`;
  return Buffer.from((await execa('python3', ['-c', script], { encoding: 'buffer' })).stdout);
};

const TORCH_GLOBALS: readonly AllowedGlobal[] = [
  { module: 'collections', name: 'OrderedDict', use: 'dict' },
  { module: 'torch._utils', name: '_rebuild_tensor_v2', use: 'call' },
  { module: 'torch', name: 'FloatStorage', use: 'reference' },
];
const options = (globals: readonly AllowedGlobal[] = TORCH_GLOBALS, persistentIds = false): ReadPickleOptions =>
  ({ globals, persistentIds, source: 'weights file /tmp/evil.pth' });
const read = (bytes: Uint8Array, opts = options()) => readPickle(bytes, 0, opts).value;
const refused = (pattern: RegExp) => (e: unknown) => e instanceof WeightsError && e.code === 'ERR_WEIGHTS' && pattern.test(e.message);

/** A JSON-like view of a value, for deepEqual. */
function plain(v: PickleValue): unknown {
  if (v instanceof PickleTuple) return { tuple: v.items.map(plain) };
  if (v instanceof PickleList) return v.items.map(plain);
  if (v instanceof PickleDict) return { [v.type]: [...v.entries].map(([k, x]) => [k, plain(x)]) };
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (v instanceof PickleGlobal) return { global: v.qualifiedName };
  if (v instanceof PickleCall) return { call: v.callee.qualifiedName, args: plain(v.args) };
  if (v instanceof PicklePersistent) return { pid: plain(v.id) };
  return v;
}

const DATA = "{'ints': [0, 1, 255, 256, 65535, 65536, -1, -2**31, 2**31, 2**40, -(2**70), 2**80], 'misc': ('x', 'ünï', None, True, False, 1.5), 'empty': ({}, [], ()), 'small': ((1,), (1, 2), (1, 2, 3)), 'long': list(range(2500))}";
const EXPECTED = {
  'builtins.dict': [
    ['ints', [0, 1, 255, 256, 65535, 65536, -1, -(2 ** 31), 2 ** 31, 2 ** 40, -(2n ** 70n), 2n ** 80n]],
    ['misc', { tuple: ['x', 'ünï', null, true, false, 1.5] }],
    ['empty', { tuple: [{ 'builtins.dict': [] }, [], { tuple: [] }] }],
    ['small', { tuple: [{ tuple: [1] }, { tuple: [1, 2] }, { tuple: [1, 2, 3] }] }],
    ['long', Array.from({ length: 2500 }, (_, i) => i)],
  ],
};

describe('restricted pickle machine: what it reads', () => {
  for (const protocol of [2, 4]) {
    it(`decodes Python's protocol ${protocol} pickle of plain data`, async () => {
      const bytes = await pyPickle(DATA, protocol);
      const { value, end } = readPickle(bytes, 0, options());
      assert.equal(end, bytes.byteLength);
      assert.deepEqual(plain(value), EXPECTED);
    });
  }
  it('decodes bytes (protocol 4; protocol 2 writes them as a call of _codecs.encode, which is refused)', async () => {
    assert.deepEqual(plain(read(await pyPickle("(b'\\x00\\xff', b'x' * 300)", 4))), { tuple: [{ bytes: [0, 255] }, { bytes: new Array(300).fill(120) }] });
    const p2 = await pyPickle("b'\\x00'", 2);
    assert.throws(() => read(p2), refused(/the global _codecs\.encode/));
  });
  it('keeps shared objects shared (memo) and reads a pickle in the middle of a buffer', async () => {
    const bytes = await pyPickle('{"a": s, "b": s}', 2, 's = [1, 2]');
    const padded = Buffer.concat([Buffer.from('junk'), bytes, Buffer.from('more')]);
    const { value, end } = readPickle(padded, 4, options());
    assert.equal(end, 4 + bytes.byteLength);
    assert.ok(value instanceof PickleDict);
    assert.ok(value.entries.get('a') instanceof PickleList);
    assert.equal(value.entries.get('a'), value.entries.get('b'));
  });
  it('makes an OrderedDict through the allowed global, with BUILD attributes; records allowed calls and persistent ids', async () => {
    const bytes = await pyPickle('d', 2, "d = collections.OrderedDict([('b', 1), ('a', 2)])\nd.note = 'x'");
    const value = read(bytes);
    assert.deepEqual(plain(value), { 'collections.OrderedDict': [['b', 1], ['a', 2]] });
    assert.ok(value instanceof PickleDict);
    assert.equal(value.attributes.get('note'), 'x');
    // _rebuild_tensor_v2(persistent id ('storage', torch.FloatStorage), 0)
    const call = Buffer.concat([
      Buffer.from([0x80, 2]), Buffer.from('ctorch._utils\n_rebuild_tensor_v2\n('), Buffer.from([0x8c, 7]), Buffer.from('storage'),
      Buffer.from('ctorch\nFloatStorage\n'), Buffer.from([0x86, 0x51, 0x4b, 0, 0x74, 0x52, 0x2e]),
    ]);
    assert.deepEqual(plain(read(call, options(TORCH_GLOBALS, true))), {
      call: 'torch._utils._rebuild_tensor_v2', args: { tuple: [{ pid: { tuple: ['storage', { global: 'torch.FloatStorage' }] } }, 0] },
    });
    assert.throws(() => read(call), refused(/persistent id \(BINPERSID\) is not allowed/));
  });
});

describe('restricted pickle machine: what it refuses', () => {
  let dir: string;
  let marker: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'transferkit-pickle-'));
    marker = join(dir, 'ran');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('refuses GLOBAL os system + REDUCE built by hand, naming the global and the file, and runs nothing', () => {
    const evil = Buffer.concat([
      Buffer.from([0x80, 2]), Buffer.from('cos\nsystem\nq\x00'), Buffer.from([0x58]),
      Buffer.from(Uint32Array.of(`touch ${marker}`.length).buffer), Buffer.from(`touch ${marker}`), Buffer.from([0x85, 0x52, 0x2e]),
    ]);
    assert.throws(() => read(evil), refused(/weights file \/tmp\/evil\.pth: pickle at byte 0 refers to the global os\.system .*not allowed \(allowed: collections\.OrderedDict, torch\._utils\._rebuild_tensor_v2, torch\.FloatStorage\); nothing from the file was run/));
    assert.throws(() => read(evil, options([])), refused(/os\.system .*\(allowed: none\)/));
    assert.equal(existsSync(marker), false);
  });
  const evils: Array<[string, number, string, RegExp]> = [
    ['os.system', 2, `class Evil:\n    def __reduce__(self): return (os.system, ('touch MARKER',))`, /the global posix\.system/],
    ['builtins.eval (protocol 4, STACK_GLOBAL)', 4, `class Evil:\n    def __reduce__(self): return (eval, ("__import__('os').system('touch MARKER')",))`, /the global builtins\.eval/],
    ['subprocess.Popen (protocol 3)', 3, `class Evil:\n    def __reduce__(self): return (subprocess.Popen, (['touch', 'MARKER'],))`, /the global subprocess\.Popen/],
  ];
  for (const [what, protocol, prelude, pattern] of evils) {
    it(`refuses Python's pickle that calls ${what}`, async () => {
      const bytes = await pyPickle('{"w": Evil()}', protocol, prelude.replace('MARKER', marker));
      assert.throws(() => read(bytes), refused(pattern));
      assert.equal(existsSync(marker), false);
    });
  }
  it('refuses allowed globals used beyond what they are allowed for', () => {
    const p2 = (text: string, ...tail: number[]) => Buffer.concat([Buffer.from([0x80, 2]), Buffer.from(text, 'latin1'), Buffer.from(tail)]);
    assert.throws(() => read(p2('ctorch\nFloatStorage\n)R.')), refused(/torch\.FloatStorage may be named but not called/));
    assert.throws(() => read(p2('ccollections\nOrderedDict\n', 0x4b, 1, 0x85, 0x52, 0x2e)), refused(/OrderedDict is only accepted with no arguments, got 1/));
    assert.throws(() => read(p2('}}b.')), refused(/BUILD on a builtins\.dict of 0, expected a dict made by an allowed global/));
    assert.throws(() => read(p2('ccollections\nOrderedDict\n)R', 0x4b, 1, 0x62, 0x2e)), refused(/BUILD of .* with 1 \(int\) as state/));
    assert.throws(() => read(p2('X\x01\x00\x00\x00x)R.')), refused(/REDUCE calls "x" \(str\), expected an allowed global/));
  });
  it('refuses opcodes it does not implement, by name', async () => {
    assert.throws(() => read(Buffer.from([0x80, 2, 0x4e, 0x29, 0x81, 0x2e])), refused(/opcode NEWOBJ \(0x81\) is not supported \(opcode at byte 4\)/));
    assert.throws(() => read(Buffer.from('(ios\nsystem\n.', 'latin1')), refused(/opcode INST \(0x69\)/));
    assert.throws(() => read(Buffer.from([0x80, 2, 0xff])), refused(/byte 0xff is not a pickle opcode/));
    const protocol0 = await pyPickle('{}', 0);
    assert.throws(() => read(protocol0), refused(/opcode PUT \(0x70\)/));
    assert.throws(() => read(Buffer.from([0x80, 6, 0x4e, 0x2e])), refused(/pickle protocol 6 is not supported/));
  });
  it('refuses damaged pickles with a WeightsError, never anything else', async () => {
    const bytes = await pyPickle(DATA, 2);
    for (let cut = 0; cut < bytes.byteLength; cut += 7) {
      assert.throws(() => read(bytes.subarray(0, cut)), refused(/truncated|stack is empty|no MARK/), `cut at ${cut}`);
    }
    const p2 = (...ops: number[]) => Buffer.from([0x80, 2, ...ops]);
    assert.throws(() => read(p2(0x68, 3, 0x2e)), refused(/memo entry 3 is not set/));
    assert.throws(() => read(p2(0x4b, 1, 0x4b, 1, 0x61, 0x2e)), refused(/APPEND\(S\) on 1 \(int\), expected a list/));
    assert.throws(() => read(p2(0x7d, 0x5d, 0x4b, 1, 0x73, 0x2e)), refused(/a dict key is a list of 0/));
    assert.throws(() => read(p2(0x4e, 0x4e, 0x2e)), refused(/STOP with 1 values and 0 marks left over/));
    assert.throws(() => read(p2(0x8a, 65, ...new Array<number>(65).fill(1), 0x2e)), refused(/an integer of 65 bytes/));
    assert.throws(() => read(p2(0x58, 2, 0, 0, 0, 0xc3, 0x28, 0x2e)), refused(/not valid UTF-8/));
    assert.throws(() => read(p2(0x28, 0x30, 0x2e)), refused(/the stack is empty/));
    assert.throws(() => read(p2(0x54, 0xff, 0xff, 0xff, 0xff, 0x2e)), refused(/a length is negative \(-1\)/));
  });
});
