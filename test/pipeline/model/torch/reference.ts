/**
 * An independent reading of a legacy `.pth` state dict: Python's own `pickle` with a restricted
 * Unpickler (find_class returns stand-ins, persistent_load returns the storage ids), the storages
 * read with numpy and each tensor taken with numpy.lib.stride_tricks.as_strided. Runs in the
 * project's venv (numpy comes with mlflow).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { z } from 'zod';
import { venvPython } from '../../../support/python.js';

const SCRIPT = String.raw`
import base64, collections, hashlib, io, json, pickle, struct, sys
import numpy as np
job = json.loads(sys.argv[1])
data = open(job['path'], 'rb').read()

class StandIn:
    def __init__(self, module, name): self.module, self.name = module, name
    def __call__(self, *args): return ('call', self.module + '.' + self.name, args)

class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ('collections', 'OrderedDict'): return collections.OrderedDict
        if module in ('torch', 'torch._utils'): return StandIn(module, name)
        raise pickle.UnpicklingError('refused global %s.%s' % (module, name))
    def persistent_load(self, pid): return pid

f = io.BytesIO(data)
magic, protocol, sys_info = (Restricted(f).load() for _ in range(3))
state, keys = Restricted(f).load(), Restricted(f).load()
DTYPES = {'FloatStorage': '<f4', 'DoubleStorage': '<f8', 'LongStorage': '<i8', 'IntStorage': '<i4'}
dtype_of = {}
for _, (_, fn, args) in state.items():
    pid = args[0]
    dtype_of[pid[2]] = (np.dtype(DTYPES[pid[1].name]), pid[1].name)
pos, storages = f.tell(), {}
for key in keys:
    (n,) = struct.unpack_from('<q', data, pos)
    dt = dtype_of[key][0]
    storages[key] = np.frombuffer(data, dtype=dt, count=n, offset=pos + 8)
    pos += 8 + n * dt.itemsize
assert pos == len(data), (pos, len(data))

out = {'magic': hex(magic), 'protocol': protocol, 'names': [], 'shapes': {}, 'strides': {}, 'types': {}, 'tensors': {}}
digest = hashlib.sha256()
for name, (_, fn, args) in state.items():
    storage, offset, size, stride = args[0], args[1], args[2], args[3]
    base = storages[storage[2]]
    view = np.lib.stride_tricks.as_strided(base[offset:], shape=size, strides=[s * base.itemsize for s in stride])
    flat = np.ascontiguousarray(view).astype('<f4').reshape(-1)
    digest.update(flat.tobytes())
    out['names'].append(name)
    out['shapes'][name] = list(size)
    out['strides'][name] = list(stride)
    out['types'][name] = dtype_of[storage[2]][1]
    if name in job['names']:
        out['tensors'][name] = base64.b64encode(flat.tobytes()).decode()
out['digest'] = digest.hexdigest()
print(json.dumps(out))
`;

const Output = z.object({
  magic: z.string(),
  protocol: z.number(),
  names: z.array(z.string()),
  shapes: z.record(z.string(), z.array(z.number())),
  strides: z.record(z.string(), z.array(z.number())),
  types: z.record(z.string(), z.string()),
  digest: z.string(),
  tensors: z.record(z.string(), z.string()),
});

export interface ReferenceReading extends Omit<z.infer<typeof Output>, 'tensors'> {
  /** The tensors asked for, as float32 values. */
  readonly tensors: ReadonlyMap<string, Float32Array>;
}

/**
 * Reads `path` in Python. `digest` is the sha256 over every tensor's values as contiguous
 * little-endian float32, in state-dict order; `types` the storage class of each tensor.
 */
export async function referenceReading(path: string, names: readonly string[]): Promise<ReferenceReading> {
  const { stdout } = await promisify(execFile)(venvPython(), ['-c', SCRIPT, JSON.stringify({ path, names })], { maxBuffer: 64 * 1024 * 1024 });
  const out = Output.parse(JSON.parse(stdout));
  const tensors = new Map<string, Float32Array>();
  for (const [name, b64] of Object.entries(out.tensors)) {
    const bytes = Buffer.from(b64, 'base64');
    tensors.set(name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
  }
  return { ...out, tensors };
}
