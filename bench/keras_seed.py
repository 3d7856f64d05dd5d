"""The seed's transfer-learning program written the plain Keras way (TensorFlow/Keras from PyPI).

Used by bench/speed.ts as the baseline transferkit is timed against. Three modes:

  train      the recipe: VGG16 conv base (include_top=False, weights from a .h5), every conv layer
             frozen except the last N, Flatten -> Dense(relu) -> Dropout -> Dense(softmax),
             Adam, categorical crossentropy, model.fit with validation (and EarlyStopping with
             restore_best_weights when asked), then model.evaluate on the test set.
  reference  what TensorFlow itself reaches here: forward throughput of the frozen prefix (the conv
             base up to the cut transferkit caches at) at several batch sizes, via model.predict, via
             a tf.function call (graph) and called eagerly (op by op, as tfjs-node runs), and the time to train only the trainable suffix (the head) on
             features of the cut's shape.
  check      loads the .h5 with keras.applications.VGG16(weights=path) and checks every conv
             kernel and bias equals the file's arrays.

Data: CIFAR-10 in the official binary format (cifar-10-batches-bin/*.bin: 1 label byte, then the
R, G, B planes of 1024 bytes), not the Python pickles. The labelled subset is drawn exactly as
transferkit draws it (src/pipeline/data/sample.ts: per class, a mulberry32 shuffle seeded by
splitmix32(seed, class), the first samples_per_class taken, round(budget x validation_fraction)
of them held out for validation), so both sides train on the very same images.

Results go to --result as JSON (stdout carries Keras's own per-epoch lines).
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402

M32 = 0xFFFFFFFF


# --- transferkit's sampling, bit for bit -------------------------------------------------------

def imul(a, b):
    return (a * b) & M32


def mulberry32(seed):
    state = seed & M32

    def rng():
        nonlocal state
        state = (state + 0x6D2B79F5) & M32
        t = state
        t = imul(t ^ (t >> 15), t | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & M32)) & M32
        return ((t ^ (t >> 14)) & M32) / 4294967296.0

    return rng


def derive_seed(seed, stream):
    z = (imul(seed & M32, 0x9E3779B9) + imul((stream + 1) & M32, 0x85EBCA6B)) & M32
    z = imul(z ^ (z >> 16), 0x21F0AAAD)
    z = imul(z ^ (z >> 15), 0x735A2D97)
    return (z ^ (z >> 15)) & M32


def shuffle_in_place(items, rng):
    for i in range(len(items) - 1, 0, -1):
        j = math.floor(rng() * (i + 1))
        items[i], items[j] = items[j], items[i]
    return items


def balanced_split(labels, per_class, validation_fraction, seed):
    """Indices (train, validation), each in dataset order, as transferkit's balancedSplit."""
    num_classes = int(labels.max()) + 1
    train, validation = [], []
    for c in range(num_classes):
        indices = np.flatnonzero(labels == c).tolist()
        take = len(indices) if per_class == "all" else int(per_class)
        if take > len(indices):
            raise SystemExit(f"class {c} has {len(indices)} training images, fewer than samples_per_class={take}")
        held = max(1, math.floor(take * validation_fraction + 0.5)) if validation_fraction > 0 else 0
        drawn = shuffle_in_place(indices, mulberry32(derive_seed(seed, c)))[:take]
        validation.extend(drawn[:held])
        train.extend(drawn[held:])
    return np.array(sorted(train), dtype=np.int64), np.array(sorted(validation), dtype=np.int64)


def images_digest(images):
    """sha256 as transferkit's imagesDigest: '<count>x<h>x<w>x<c>;' then the NHWC uint8 bytes."""
    n, h, w, c = images.shape
    return hashlib.sha256(f"{n}x{h}x{w}x{c};".encode() + np.ascontiguousarray(images).tobytes()).hexdigest()


# --- CIFAR-10 binary --------------------------------------------------------------------------

def cifar_dir(location):
    nested = os.path.join(location, "cifar-10-batches-bin")
    return nested if os.path.isdir(nested) else location


def read_cifar_bin(paths):
    records = np.concatenate([np.fromfile(p, dtype=np.uint8) for p in paths]).reshape(-1, 3073)
    labels = records[:, 0].astype(np.int64)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # planes -> NHWC
    return np.ascontiguousarray(images), labels


def load_cifar10(location):
    d = cifar_dir(location)
    x_train, y_train = read_cifar_bin([os.path.join(d, f"data_batch_{i}.bin") for i in range(1, 6)])
    x_test, y_test = read_cifar_bin([os.path.join(d, "test_batch.bin")])
    return (x_train, y_train), (x_test, y_test)


# --- Keras ------------------------------------------------------------------------------------

def import_keras():
    import tensorflow as tf
    import keras

    return tf, keras


def build_model(keras, weights, retrained, dense_units, dropout, num_classes):
    base = keras.applications.VGG16(include_top=False, weights=weights, input_shape=(32, 32, 3))
    convs = [layer for layer in base.layers if isinstance(layer, keras.layers.Conv2D)]
    n = len(convs) if retrained == "all" else int(retrained)
    for layer in base.layers:
        layer.trainable = False
    for layer in convs[len(convs) - n:] if n > 0 else []:
        layer.trainable = True
    x = keras.layers.Flatten(name="flatten")(base.output)
    x = keras.layers.Dense(dense_units, activation="relu", name="fc1")(x)
    x = keras.layers.Dropout(dropout, name="dropout")(x)
    out = keras.layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(base.input, out), base, convs


def train(args):
    t_import0 = time.perf_counter()
    tf, keras = import_keras()
    t_import = time.perf_counter() - t_import0
    keras.utils.set_random_seed(args.seed)

    t0 = time.perf_counter()
    (x_all, y_all), (x_test, y_test) = load_cifar10(args.data_dir)
    per_class = "all" if args.samples_per_class == "all" else int(args.samples_per_class)
    tr, va = balanced_split(y_all, per_class, args.validation_fraction, args.seed)
    x_train, y_train = x_all[tr], y_all[tr]
    x_val, y_val = x_all[va], y_all[va]
    digests = {"train": images_digest(x_train), "validation": images_digest(x_val), "test": images_digest(x_test)}
    del x_all, y_all
    num_classes = 10
    pre = keras.applications.vgg16.preprocess_input
    x_train = pre(x_train.astype("float32"))
    x_val = pre(x_val.astype("float32"))
    x_test = pre(x_test.astype("float32"))
    y_train = keras.utils.to_categorical(y_train, num_classes)
    y_val = keras.utils.to_categorical(y_val, num_classes)
    y_test = keras.utils.to_categorical(y_test, num_classes)
    t_data = time.perf_counter() - t0

    t0 = time.perf_counter()
    model, _, _ = build_model(keras, args.weights, args.retrained_conv_layers, args.dense_units, args.dropout, num_classes)
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    t_model = time.perf_counter() - t0

    epoch_seconds = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.t)

    callbacks = [EpochTimer()]
    if args.use_early_stop:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_loss", patience=args.patience, restore_best_weights=True))
    t0 = time.perf_counter()
    history = model.fit(
        x_train, y_train,
        batch_size=args.batch_size,
        epochs=args.max_epochs,
        validation_data=(x_val, y_val),
        callbacks=callbacks,
        verbose=2,
    )
    t_fit = time.perf_counter() - t0

    t0 = time.perf_counter()
    test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
    t_eval = time.perf_counter() - t0

    result = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "counts": {"train": int(len(x_train)), "validation": int(len(x_val)), "test": int(len(x_test))},
        "digests": digests,
        "epochs_run": len(history.history["loss"]),
        "epoch_seconds": epoch_seconds,
        "history": {k: [float(v) for v in vs] for k, vs in history.history.items()},
        "test_loss": float(test_loss),
        "test_accuracy": float(test_accuracy),
        "seconds": {
            "import": t_import,
            "data": t_data,
            "model": t_model,
            "fit": t_fit,
            "evaluate": t_eval,
            "in_process": time.perf_counter() - T_START,
        },
        "trainable_weights": len(model.trainable_weights),
    }
    with open(args.result, "w") as f:
        json.dump(result, f, indent=2)


def reference(args):
    tf, keras = import_keras()
    keras.utils.set_random_seed(args.seed)
    num_classes = 10
    model, base, convs = build_model(keras, args.weights, args.retrained_conv_layers, args.dense_units, args.dropout, num_classes)
    n = int(args.retrained_conv_layers)
    layers = model.layers
    first_trainable = convs[len(convs) - n].name if n > 0 else "flatten"
    cut = [layer.name for layer in layers].index(first_trainable)
    cut_layer = layers[cut - 1]
    prefix = keras.Model(model.input, cut_layer.output)
    feature_shape = tuple(int(d) for d in cut_layer.output.shape[1:])

    rng = np.random.default_rng(args.seed)
    x = rng.uniform(-128, 128, (args.forward_images, 32, 32, 3)).astype("float32")
    call = tf.function(lambda t: prefix(t, training=False))
    forward = []
    for bs in args.batch_sizes:
        prefix.predict(x[: bs * 2], batch_size=bs, verbose=0)  # warm up (traces for this batch size)
        t0 = time.perf_counter()
        prefix.predict(x, batch_size=bs, verbose=0)
        t_predict = time.perf_counter() - t0
        batches = [tf.constant(x[i:i + bs]) for i in range(0, len(x) - len(x) % bs, bs)]
        call(batches[0]).numpy()
        t0 = time.perf_counter()
        for b in batches:
            call(b).numpy()
        t_call = time.perf_counter() - t0
        # Eager, op by op (no graph: no conv+bias+relu fusion, no cached oneDNN weight layouts),
        # which is how tfjs-node runs every model.
        prefix(batches[0], training=False).numpy()
        t0 = time.perf_counter()
        for b in batches:
            prefix(b, training=False).numpy()
        t_eager = time.perf_counter() - t0
        forward.append({
            "batch_size": bs,
            "predict_images_per_second": len(x) / t_predict,
            "call_images_per_second": len(batches) * bs / t_call,
            "eager_images_per_second": len(batches) * bs / t_eager,
        })

    # The trainable suffix alone, on features of the cut's shape (what a cached run trains).
    suffix_in = keras.Input(shape=feature_shape)
    y = suffix_in
    for layer in layers[cut:]:
        y = layer(y)
    suffix = keras.Model(suffix_in, y)
    suffix.compile(optimizer=keras.optimizers.Adam(args.learning_rate), loss="categorical_crossentropy", metrics=["accuracy"])
    f_train = np.abs(rng.normal(0, 1, (args.n_train,) + feature_shape)).astype("float32")
    f_val = np.abs(rng.normal(0, 1, (args.n_val,) + feature_shape)).astype("float32")
    l_train = keras.utils.to_categorical(rng.integers(0, num_classes, args.n_train), num_classes)
    l_val = keras.utils.to_categorical(rng.integers(0, num_classes, args.n_val), num_classes)
    t0 = time.perf_counter()
    suffix.fit(f_train, l_train, batch_size=args.batch_size, epochs=args.max_epochs, validation_data=(f_val, l_val), verbose=0)
    t_suffix = time.perf_counter() - t0

    result = {
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "cut_after": cut_layer.name,
        "feature_shape": list(feature_shape),
        "forward_images": args.forward_images,
        "forward": forward,
        "suffix_fit_seconds": t_suffix,
        "suffix_fit": {"train": args.n_train, "validation": args.n_val, "epochs": args.max_epochs, "batch_size": args.batch_size},
        "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads(),
        "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
    }
    with open(args.result, "w") as f:
        json.dump(result, f, indent=2)


def check(args):
    import h5py

    _, keras = import_keras()
    base = keras.applications.VGG16(include_top=False, weights=args.weights, input_shape=(32, 32, 3))
    checked = 0
    with h5py.File(args.weights, "r") as f:
        for layer in base.layers:
            if not isinstance(layer, keras.layers.Conv2D):
                continue
            group = f[layer.name]
            names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs["weight_names"]]
            kernel, bias = layer.get_weights()
            if not (np.array_equal(kernel, group[names[0]][()]) and np.array_equal(bias, group[names[1]][()])):
                raise SystemExit(f"{layer.name}: weights differ from the file")
            checked += 1
    with open(args.result, "w") as f:
        json.dump({"ok": True, "conv_layers_checked": checked, "keras": keras.__version__}, f)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("mode", choices=["train", "reference", "check"])
    p.add_argument("--result", required=True)
    p.add_argument("--weights", required=True)
    p.add_argument("--data_dir")
    p.add_argument("--samples_per_class", default="300")
    p.add_argument("--validation_fraction", type=float, default=0.2)
    p.add_argument("--retrained_conv_layers", default="0")
    p.add_argument("--max_epochs", type=int, default=20)
    p.add_argument("--use_early_stop", type=int, default=0)
    p.add_argument("--patience", type=int, default=3)
    p.add_argument("--batch_size", type=int, default=32)
    p.add_argument("--learning_rate", type=float, default=0.001)
    p.add_argument("--dense_units", type=int, default=256)
    p.add_argument("--dropout", type=float, default=0.5)
    p.add_argument("--seed", type=int, default=42)
    # reference mode
    p.add_argument("--batch_sizes", type=lambda s: [int(v) for v in s.split(",")], default=[32, 64, 128, 256])
    p.add_argument("--forward_images", type=int, default=1024)
    p.add_argument("--n_train", type=int, default=2400)
    p.add_argument("--n_val", type=int, default=600)
    args = p.parse_args()
    {"train": train, "reference": reference, "check": check}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
