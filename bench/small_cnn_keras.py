"""Keras side of bench/small-cnn.ts: the seed's small MNIST CNN trained from scratch, every layer
trainable, the plain Keras way. One process per measured run.

  python bench/small_cnn_keras.py JOB    JOB = {"data": dir, "counts": {"train", "validation", "test"},
      "classes", "epochs", "batch", "lr", "dense_units", "dropout", "seed", "result": path}

Model (transferkit's `small-cnn` with `retrained_conv_layers all`, `weights none`): Input(28, 28, 3) ->
Conv2D(32, 3, same, relu) -> Conv2D(32, 3, same, relu) -> MaxPooling2D(2) -> Flatten ->
Dense(units, relu) -> Dropout -> Dense(classes, softmax); Glorot-uniform kernels, zero biases; Adam(lr),
sparse categorical crossentropy; model.fit on the whole arrays with validation every epoch, then
model.evaluate on the test set. Images: the harness's uint8 28x28 files (transferkit's split), gray
repeated to RGB, scaled to [0, 1] (transferkit's `unit` preprocessing).
Writes JSON to job["result"]: seconds per phase, per-epoch seconds, test accuracy, sha256 of the inputs.
"""
import hashlib, json, os, sys, time

t_start = time.perf_counter()
import numpy as np
import tensorflow as tf
import keras

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backbones_keras import fit_evaluate  # noqa: E402

t_import = time.perf_counter() - t_start


def read_split(job, name):
    n = job["counts"][name]
    raw = np.fromfile(os.path.join(job["data"], f"{name}.u8"), np.uint8)
    labels = np.fromfile(os.path.join(job["data"], f"{name}.labels"), np.uint8).astype("int32")
    if raw.size != n * 28 * 28 or labels.size != n:
        raise SystemExit(f"{name}: expected {n} images of 28x28 and {n} labels, got {raw.size} bytes and {labels.size} labels")
    x = np.repeat(raw.reshape(n, 28, 28, 1).astype("float32") / 255.0, 3, axis=-1)
    return x, labels, hashlib.sha256(raw.tobytes()).hexdigest()


def build(job):
    layers = keras.layers
    inputs = keras.Input((28, 28, 3))
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="block1_conv1")(inputs)
    x = layers.Conv2D(32, 3, padding="same", activation="relu", name="block1_conv2")(x)
    x = layers.MaxPooling2D(2, name="block1_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(job["dense_units"], activation="relu", name="fc1")(x)
    x = layers.Dropout(job["dropout"], name="dropout")(x)
    outputs = layers.Dense(job["classes"], activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(job["lr"]), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model, int(sum(np.prod(v.shape) for v in model.trainable_variables))


if __name__ == "__main__":
    job = json.loads(sys.argv[1])
    out = fit_evaluate(job, read_split, build, t_start, t_import)
    with open(job["result"], "w") as f:
        json.dump(out, f)
