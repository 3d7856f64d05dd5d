/**
 * The values a restricted pickle machine (pickle.ts) produces. Nothing here can run code: a global
 * is a name that passed an allow-list, a call of a global is kept as data (`PickleCall`) for the
 * caller to interpret, and a persistent id is kept as data (`PicklePersistent`).
 */

/** Dictionary keys the machine accepts: Python's hashable scalars. */
export type PickleKey = string | number | bigint | boolean | null;

export type PickleValue =
  | PickleKey
  | Uint8Array
  | PickleTuple
  | PickleList
  | PickleDict
  | PickleGlobal
  | PickleCall
  | PicklePersistent;

/**
 * How an allowed global may be used:
 * - `dict`: calling it with no arguments makes an empty dict (e.g. `collections.OrderedDict`), which
 *   SETITEM(S) fill and BUILD may give attributes;
 * - `call`: calling it is recorded as a `PickleCall` for the caller to interpret (nothing runs);
 * - `reference`: it may appear as a value (e.g. a storage class) but not be called.
 */
export type GlobalUse = 'dict' | 'call' | 'reference';

export interface AllowedGlobal {
  readonly module: string;
  readonly name: string;
  readonly use: GlobalUse;
}

export interface ReadPickleOptions {
  /** The globals the pickle may name; any other refuses the pickle. */
  readonly globals: readonly AllowedGlobal[];
  /** Whether BINPERSID is allowed (its ids become `PicklePersistent`). */
  readonly persistentIds: boolean;
  /** The file, named in error messages. */
  readonly source: string;
}

export interface PickleResult {
  readonly value: PickleValue;
  /** Offset of the byte after STOP. */
  readonly end: number;
}

/** A Python tuple. */
export class PickleTuple {
  constructor(readonly items: readonly PickleValue[]) {}
}

/** A Python list (APPEND/APPENDS add to it while the pickle is read). */
export class PickleList {
  readonly items: PickleValue[] = [];
}

/** A Python dict, or a dict made by an allowed `dict` global; insertion order is kept. */
export class PickleDict {
  readonly entries = new Map<PickleKey, PickleValue>();
  /** The state BUILD set (instance attributes, e.g. a state dict's `_metadata`). */
  readonly attributes = new Map<PickleKey, PickleValue>();
  /** `builtins.dict`, or the allowed global that made it (e.g. `collections.OrderedDict`). */
  constructor(readonly type = 'builtins.dict') {}
}

/** A global that passed the allow-list. */
export class PickleGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
    readonly use: GlobalUse,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** `callee(*args)` as the pickle asked for it; nothing was called. */
export class PickleCall {
  constructor(
    readonly callee: PickleGlobal,
    readonly args: PickleTuple,
  ) {}
}

/** A persistent id (BINPERSID), left to the caller to resolve. */
export class PicklePersistent {
  constructor(readonly id: PickleValue) {}
}

/** Whether a value can be a dict key. */
export function isPickleKey(value: PickleValue): value is PickleKey {
  return value === null || ['string', 'number', 'bigint', 'boolean'].includes(typeof value);
}

/** A short description of a value for error messages: `"abc" (str)`, `12 (int)`, `a tuple of 3`. */
export function describePickleValue(value: PickleValue): string {
  if (value === null) return 'None';
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (str)`;
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'bigint') return `${value} (int)`;
  if (typeof value === 'number') return `${value} (${Number.isInteger(value) ? 'int' : 'float'})`;
  if (value instanceof Uint8Array) return `bytes of length ${value.byteLength}`;
  if (value instanceof PickleTuple) return `a tuple of ${value.items.length}`;
  if (value instanceof PickleList) return `a list of ${value.items.length}`;
  if (value instanceof PickleDict) return `a ${value.type} of ${value.entries.size}`;
  if (value instanceof PickleGlobal) return `the global ${value.qualifiedName}`;
  if (value instanceof PickleCall) return `a call of ${value.callee.qualifiedName}`;
  return 'a persistent id';
}
