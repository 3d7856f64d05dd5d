/**
 * A restricted pickle machine: reads one pickle (protocols 2-5, binary opcodes only) into data and
 * never runs anything from it. Globals must be on the caller's allow-list, and even an allowed one
 * is only ever recorded (see pickle-values.ts). Opcodes that build arbitrary objects (INST, OBJ,
 * NEWOBJ, EXT*, ...) and the text opcodes of protocol 0 are refused by name, as is anything else
 * the state-dict files we read do not need.
 */
import { WeightsError } from '../../../errors.js';
import {
  type PickleResult, type PickleValue, type ReadPickleOptions, PickleCall, PickleDict, PickleGlobal, PickleList,
  PicklePersistent, PickleTuple, describePickleValue, isPickleKey,
} from './pickle-values.js';

export type { PickleResult, ReadPickleOptions } from './pickle-values.js';
import { opcodeName } from './pickle-opcodes.js';

const MAX_LONG_BYTES = 64;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Reads the pickle that starts at `start` in `bytes`. Every problem is a WeightsError naming the file and byte. */
export function readPickle(bytes: Uint8Array, start: number, options: ReadPickleOptions): PickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const where = `${options.source}: pickle at byte ${start}`;
  let pos = start;
  let at = start;
  const fail = (what: string): never => {
    throw new WeightsError(`${where}: ${what} (opcode at byte ${at})`);
  };
  const take = (n: number): number => {
    if (n < 0) fail(`a length is negative (${n})`);
    if (pos + n > bytes.byteLength) fail(`truncated: needs ${n} more bytes, the file ends at byte ${bytes.byteLength}`);
    const p = pos;
    pos += n;
    return p;
  };
  const u8 = () => view.getUint8(take(1));
  const raw = (n: number) => bytes.slice(take(n), pos);
  const u32 = () => view.getUint32(take(4), true);
  const u64 = () => {
    const n = view.getBigUint64(take(8), true);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? fail(`length ${n} is too large`) : Number(n);
  };
  const text = (n: number): string => {
    const p = take(n);
    try {
      return utf8.decode(bytes.subarray(p, p + n));
    } catch {
      return fail(`a string of ${n} bytes is not valid UTF-8`);
    }
  };
  const line = (): string => {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) return fail('truncated: a GLOBAL name has no end of line');
    const value = text(nl - pos);
    take(1);
    return value;
  };

  const stack: PickleValue[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PickleValue>();
  const pop = (): PickleValue => {
    if (stack.length <= (marks.at(-1) ?? 0)) fail('the stack is empty');
    return stack.pop() ?? null;
  };
  const top = (): PickleValue => (stack.length <= (marks.at(-1) ?? 0) ? fail('the stack is empty') : (stack.at(-1) ?? null));
  const popMark = (): PickleValue[] => {
    const mark = marks.pop();
    if (mark === undefined) return fail('no MARK before an opcode that needs one');
    return stack.splice(mark);
  };
  const get = (key: number): PickleValue => (memo.has(key) ? (memo.get(key) ?? null) : fail(`memo entry ${key} is not set`));
  const global = (module: string, name: string): PickleGlobal => {
    const allowed = options.globals.find((g) => g.module === module && g.name === name);
    if (allowed === undefined) {
      const list = options.globals.map((g) => `${g.module}.${g.name}`).join(', ') || 'none';
      throw new WeightsError(
        `${where} refers to the global ${module}.${name} (opcode at byte ${at}), which is not allowed (allowed: ${list}); nothing from the file was run`,
      );
    }
    return new PickleGlobal(module, name, allowed.use);
  };
  const setItems = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!(target instanceof PickleDict)) return fail(`SETITEM(S) on ${describePickleValue(target)}, expected a dict`);
    for (let i = 0; i + 1 < items.length; i += 2) {
      const key = items[i] ?? null;
      if (!isPickleKey(key)) fail(`a dict key is ${describePickleValue(key)}, expected a str, int, bool or None`);
      else target.entries.set(key, items[i + 1] ?? null);
    }
  };
  const append = (target: PickleValue, items: readonly PickleValue[]): void => {
    if (!(target instanceof PickleList)) return fail(`APPEND(S) on ${describePickleValue(target)}, expected a list`);
    target.items.push(...items);
  };
  const long = (n: number): number | bigint => {
    if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes is larger than the ${MAX_LONG_BYTES} bytes allowed`);
    const p = take(n);
    let value = 0n;
    for (let i = n - 1; i >= 0; i--) value = (value << 8n) | BigInt(view.getUint8(p + i));
    if (n > 0 && (view.getUint8(p + n - 1) & 0x80) !== 0) value -= 1n << BigInt(8 * n);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };

  for (;;) {
    at = pos;
    const op = u8();
    switch (op) {
      case 0x80: { // PROTO
        const version = u8();
        if (version > 5) fail(`pickle protocol ${version} is not supported (at most 5)`);
        break;
      }
      case 0x95: u64(); break; // FRAME: a size hint only
      case 0x2e: { // STOP
        const value = pop();
        if (stack.length > 0 || marks.length > 0) fail(`STOP with ${stack.length} values and ${marks.length} marks left over`);
        return { value, end: pos };
      }
      case 0x28: marks.push(stack.length); break; // MARK
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4a: stack.push(view.getInt32(take(4), true)); break; // BININT
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(view.getUint16(take(2), true)); break; // BININT2
      case 0x8a: stack.push(long(u8())); break; // LONG1
      case 0x8b: stack.push(long(view.getInt32(take(4), true))); break; // LONG4
      case 0x47: stack.push(view.getFloat64(take(8), false)); break; // BINFLOAT
      case 0x58: stack.push(text(u32())); break; // BINUNICODE
      case 0x8c: stack.push(text(u8())); break; // SHORT_BINUNICODE
      case 0x8d: stack.push(text(u64())); break; // BINUNICODE8
      case 0x54: stack.push(text(view.getInt32(take(4), true))); break; // BINSTRING
      case 0x55: stack.push(text(u8())); break; // SHORT_BINSTRING
      case 0x42: stack.push(raw(u32())); break; // BINBYTES
      case 0x43: stack.push(raw(u8())); break; // SHORT_BINBYTES
      case 0x29: stack.push(new PickleTuple([])); break; // EMPTY_TUPLE
      case 0x74: stack.push(new PickleTuple(popMark())); break; // TUPLE
      case 0x85: case 0x86: case 0x87: { // TUPLE1, TUPLE2, TUPLE3
        const items = Array.from({ length: op - 0x84 }, pop).reverse();
        stack.push(new PickleTuple(items));
        break;
      }
      case 0x5d: stack.push(new PickleList()); break; // EMPTY_LIST
      case 0x6c: { const list = new PickleList(); list.items.push(...popMark()); stack.push(list); break; } // LIST
      case 0x61: { const item = pop(); append(top(), [item]); break; } // APPEND
      case 0x65: { const items = popMark(); append(top(), items); break; } // APPENDS
      case 0x7d: stack.push(new PickleDict()); break; // EMPTY_DICT
      case 0x64: { const dict = new PickleDict(); setItems(dict, popMark()); stack.push(dict); break; } // DICT
      case 0x73: { const value = pop(); const key = pop(); setItems(top(), [key, value]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(top(), items); break; } // SETITEMS
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, top()); break; // MEMOIZE
      case 0x68: stack.push(get(u8())); break; // BINGET
      case 0x6a: stack.push(get(u32())); break; // LONG_BINGET
      case 0x63: { const module = line(); stack.push(global(module, line())); break; } // GLOBAL
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        else stack.push(global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const callee = pop();
        if (!(callee instanceof PickleGlobal)) fail(`REDUCE calls ${describePickleValue(callee)}, expected an allowed global`);
        else if (!(args instanceof PickleTuple)) fail(`REDUCE of ${callee.qualifiedName} has ${describePickleValue(args)} as arguments, expected a tuple`);
        else if (callee.use === 'reference') fail(`the global ${callee.qualifiedName} may be named but not called`);
        else if (callee.use === 'call') stack.push(new PickleCall(callee, args));
        else if (args.items.length > 0) fail(`${callee.qualifiedName} is only accepted with no arguments, got ${args.items.length}`);
        else stack.push(new PickleDict(callee.qualifiedName));
        break;
      }
      case 0x62: { // BUILD: only a dict's attributes from a dict (or no state)
        const state = pop();
        const target = top();
        if (!(target instanceof PickleDict) || target.type === 'builtins.dict') fail(`BUILD on ${describePickleValue(target)}, expected a dict made by an allowed global`);
        else if (state instanceof PickleDict) for (const [key, value] of state.entries) target.attributes.set(key, value);
        else if (state !== null) fail(`BUILD of ${describePickleValue(target)} with ${describePickleValue(state)} as state, expected a dict or None`);
        break;
      }
      case 0x51: { // BINPERSID
        const id = pop();
        if (!options.persistentIds) fail('a persistent id (BINPERSID) is not allowed in this pickle');
        stack.push(new PicklePersistent(id));
        break;
      }
      default: {
        const name = opcodeName(op);
        fail(name === undefined ? `byte 0x${op.toString(16).padStart(2, '0')} is not a pickle opcode` : `opcode ${name} is not supported`);
      }
    }
  }
}
