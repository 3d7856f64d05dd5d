"""Keras side of bench/backbones.ts: one process per measured run, the plain Keras way.

  python bench/backbones_keras.py make JOB    JOB = {"backbone", "h5", "seed", "calibrate": {"images": uint8
      28x28 file, "count"}}: the random-weights notop .h5 (frozen_forward_keras.make: keras.applications
      model, random non-trivial BatchNorm statistics calibrated on those images, Keras's legacy layout).
  python bench/backbones_keras.py train JOB   JOB = {"backbone", "h5", "size", "data": dir, "counts":
      {"train", "validation", "test"}, "classes", "epochs", "batch", "lr", "dense_units", "dropout",
      "seed", "trainable_after": layer name or null, "result": path}

train: base = keras.applications.X(include_top=False, weights=<h5>, input_shape=(size, size, 3)), every
layer frozen (trainable_after null) or every layer after `trainable_after` trainable (the registry's last
block); inputs -> base(inputs, training=False) (Keras's transfer-learning guide: BatchNorm in inference
mode) -> GlobalAveragePooling2D -> Dense(units, relu) -> Dropout -> Dense(softmax); Adam(lr); model.fit on
the whole arrays (the base's forward every epoch), validation every epoch, no early stopping; then
model.evaluate on the test set. The images are the harness's uint8 28x28 files (transferkit's split),
made RGB and resized as transferkit does (bilinear, half-pixel centres: tf.image.resize), then the
backbone's own preprocessing (MobileNetV2: preprocess_input; EfficientNet: inside the model).
Writes JSON to job["result"]: seconds per phase, per-epoch seconds, test accuracy, sha256 of the inputs.
"""
import hashlib, json, os, sys, time

t_start = time.perf_counter()
import numpy as np
import tensorflow as tf
import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from frozen_forward_keras import BACKBONES, make  # noqa: E402

t_import = time.perf_counter() - t_start

CONSTRUCTORS = {"mobilenet_v2": keras.applications.MobileNetV2, "efficientnet_b0": keras.applications.EfficientNetB0}


def images(path, n, size, backbone):
    """n uint8 28x28 gray images -> RGB at size x size (bilinear, half-pixel centres) -> the backbone's preprocessing."""
    raw = np.fromfile(path, np.uint8)
    if raw.size != n * 28 * 28:
        raise SystemExit(f"{path}: expected {n} images of 28x28, got {raw.size} bytes")
    x = np.repeat(raw.reshape(n, 28, 28, 1).astype("float32"), 3, axis=-1)
    x = tf.image.resize(x, [size, size], method="bilinear").numpy()
    pre = BACKBONES[backbone][1]
    return (x if pre is None else pre(x)), hashlib.sha256(raw.tobytes()).hexdigest()


def read_split(job, name):
    n = job["counts"][name]
    labels = np.fromfile(os.path.join(job["data"], f"{name}.labels"), np.uint8).astype("int32")
    if labels.size != n:
        raise SystemExit(f"{name}: expected {n} labels, got {labels.size}")
    x, digest = images(os.path.join(job["data"], f"{name}.u8"), n, job["size"], job["backbone"])
    return x, labels, digest


def build(job):
    base = CONSTRUCTORS[job["backbone"]](include_top=False, weights=job["h5"], input_shape=(job["size"], job["size"], 3))
    after = job["trainable_after"]
    if after is None:
        base.trainable = False
    else:
        names = [l.name for l in base.layers]
        if after not in names:
            raise SystemExit(f"{job['backbone']} has no layer {after}")
        cut = names.index(after)
        for i, layer in enumerate(base.layers):
            layer.trainable = i > cut
    inputs = keras.Input((job["size"], job["size"], 3))
    x = base(inputs, training=False)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dense(job["dense_units"], activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(job["dropout"], name="dropout")(x)
    outputs = keras.layers.Dense(job["classes"], activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(job["lr"]), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    trainable = int(sum(np.prod(v.shape) for v in model.trainable_variables))
    return model, trainable


class EpochTimes(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds, self.t0 = [], 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.t0)


def fit_evaluate(job, read, build, t_start, t_import):
    """Reads the three splits with read(job, name), builds with build(job) -> (model, trainable count),
    fits with validation every epoch and evaluates on the test set; the result dict both harnesses write."""
    keras.utils.set_random_seed(job["seed"])
    t0 = time.perf_counter()
    splits = {name: read(job, name) for name in ("train", "validation", "test")}
    t_data = time.perf_counter() - t0
    t0 = time.perf_counter()
    model, trainable = build(job)
    t_model = time.perf_counter() - t0
    (xt, yt, _), (xv, yv, _), (xs, ys, _) = splits["train"], splits["validation"], splits["test"]
    epochs = EpochTimes()
    t0 = time.perf_counter()
    model.fit(xt, yt, batch_size=job["batch"], epochs=job["epochs"], validation_data=(xv, yv), shuffle=True, callbacks=[epochs], verbose=2)
    t_fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, accuracy = model.evaluate(xs, ys, batch_size=job["batch"], verbose=0)
    t_eval = time.perf_counter() - t0
    return {
        "keras": keras.__version__, "tensorflow": tf.__version__, "trainable_parameters": trainable,
        "digests": {name: s[2] for name, s in splits.items()}, "epoch_seconds": epochs.seconds, "test_accuracy": float(accuracy),
        "seconds": {"import": t_import, "data": t_data, "model": t_model, "fit": t_fit, "evaluate": t_eval, "in_process": time.perf_counter() - t_start},
    }


def train(job):
    return fit_evaluate(job, read_split, build, t_start, t_import)


if __name__ == "__main__":
    mode, job = sys.argv[1], json.loads(sys.argv[2])
    if mode == "make":
        c = job.get("calibrate")
        print(json.dumps(make(job, None if c is None else images(c["images"], c["count"], 96, job["backbone"])[0])))
    else:
        out = train(job)
        with open(job["result"], "w") as f:
            json.dump(out, f)
