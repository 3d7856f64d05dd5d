"""An independent numpy forward of EfficientNet-Lite0 (Google's TF/TPU original semantics) over the
state dict of the wheel's .pth, for checking transferkit's graph on real photos.

Read with a restricted Unpickler (stand-ins only, nothing executed); architecture from the state
dict's own shapes plus the Lite0 stage table (stride-2 blocks 1, 3, 5, 11); TF 'SAME' padding;
BatchNorm epsilon 1e-3; ReLU6; preprocessing (x - 127) / 128 as in efficientnet/lite's
MEAN_RGB = [127] * 3 and STDDEV_RGB = [128] * 3. Prints the 1000 logits of each image as JSON.
usage: python lite0_reference.py JOB_JSON   (job: {"pth": path, "images": path of float32 [n,224,224,3], "n": n})
"""
import collections, io, json, pickle, struct, sys
import numpy as np

job = json.loads(sys.argv[1])
data = open(job["pth"], "rb").read()


class StandIn:
    def __init__(self, name): self.name = name
    def __call__(self, *args): return (self.name, args)


class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"): return collections.OrderedDict
        if module in ("torch", "torch._utils"): return StandIn(name)
        raise pickle.UnpicklingError("refused global %s.%s" % (module, name))
    def persistent_load(self, pid): return pid


f = io.BytesIO(data)
for _ in range(3): Restricted(f).load()
state, keys = Restricted(f).load(), Restricted(f).load()
kinds = {args[0][2]: args[0][1].name for _, (_, args) in state.items()}
pos, storages = f.tell(), {}
for key in keys:
    (count,) = struct.unpack_from("<q", data, pos)
    dt = np.dtype("<f4") if kinds[key] == "FloatStorage" else np.dtype("<i8")
    storages[key] = np.frombuffer(data, dtype=dt, count=count, offset=pos + 8)
    pos += 8 + count * dt.itemsize
W = {}
for name, (_, args) in state.items():
    base = storages[args[0][2]]
    W[name] = np.lib.stride_tricks.as_strided(base[args[1]:], shape=args[2], strides=[s * base.itemsize for s in args[3]]).astype(np.float64)


def same_pad(x, k, s):
    h = x.shape[1]
    out = -(-h // s)
    total = max((out - 1) * s + k - h, 0)
    a, b = total // 2, total - total // 2
    return np.pad(x, ((0, 0), (a, b), (a, b), (0, 0))), out


def conv(x, w, s=1):  # w: torch [O, I, k, k]
    k = w.shape[2]
    x, out = same_pad(x, k, s)
    y = np.zeros((x.shape[0], out, out, w.shape[0]))
    for i in range(k):
        for j in range(k):
            patch = x[:, i:i + s * out:s, j:j + s * out:s, :]
            y += patch @ w[:, :, i, j].T
    return y


def dwconv(x, w, s=1):  # w: torch [C, 1, k, k]
    k = w.shape[2]
    x, out = same_pad(x, k, s)
    y = np.zeros((x.shape[0], out, out, w.shape[0]))
    for i in range(k):
        for j in range(k):
            y += x[:, i:i + s * out:s, j:j + s * out:s, :] * w[:, 0, i, j]
    return y


def bn(x, p):
    return (x - W[p + ".running_mean"]) / np.sqrt(W[p + ".running_var"] + 1e-3) * W[p + ".weight"] + W[p + ".bias"]


relu6 = lambda x: np.clip(x, 0, 6)
x = np.fromfile(job["images"], dtype="<f4").reshape(job["n"], 224, 224, 3).astype(np.float64)
x = (x - 127.0) / 128.0
x = relu6(bn(conv(x, W["_conv_stem.weight"], 2), "_bn0"))
n_blocks = 1 + max(int(k.split(".")[1]) for k in W if k.startswith("_blocks."))
for b in range(n_blocks):
    p = "_blocks.%d." % b
    inp = x
    if p + "_expand_conv.weight" in W:
        x = relu6(bn(conv(x, W[p + "_expand_conv.weight"]), p + "_bn0"))
    stride = 2 if b in (1, 3, 5, 11) else 1
    x = relu6(bn(dwconv(x, W[p + "_depthwise_conv.weight"], stride), p + "_bn1"))
    x = bn(conv(x, W[p + "_project_conv.weight"]), p + "_bn2")
    if stride == 1 and inp.shape[-1] == x.shape[-1]:
        x = x + inp
x = relu6(bn(conv(x, W["_conv_head.weight"]), "_bn1"))
logits = x.mean(axis=(1, 2)) @ W["_fc.weight"].T + W["_fc.bias"]
print(json.dumps(logits.tolist()))
