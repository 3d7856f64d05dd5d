"""Keras side of bench/frozen-forward.ts: a long-lived worker that answers one line of JSON per command.

  {"cmd": "make", "backbone": name, "h5": path, "seed": int}
      builds the backbone with keras.applications (include_top=False, weights=None; EfficientNet-Lite0
      through Keras's EfficientNet with Lite's stages, as test/support/keras-backbones.py does), gives
      every BatchNormalization random non-trivial statistics, saves the weights in the legacy notop layout.
  {"cmd": "run", "backbone": name, "h5": path, "size": int, "images": path to float32 raw RGB, "count": int,
   "batch": int}
      model.predict over the images at batch_size `batch` (Keras 3: a compiled tf.function), timed after
      one warm-up predict; answers images/s. Models are kept per (backbone, size).
  {"cmd": "rss"} answers the peak RSS so far.
"""
import json, os, resource, sys, time
import numpy as np, keras
from keras.src.legacy.saving import legacy_h5_format
import h5py

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "support"))
from keras_apps import calibrate_batch_norms, lite0  # noqa: E402


# name -> (constructor, preprocessing of raw pixels outside the model, in-model normalization or None)
BACKBONES = {
    "mobilenet_v2": (keras.applications.MobileNetV2, keras.applications.mobilenet_v2.preprocess_input, None),
    "efficientnet_lite0": (lite0, None, (np.full(3, 127 / 255), np.full(3, (128 / 255) ** 2))),
    # weights=None: Rescaling(1/255) + Normalization computes (x/255 - mean)/sqrt(variance), ImageNet's.
    "efficientnet_b0": (keras.applications.EfficientNetB0, None, (np.array([0.485, 0.456, 0.406]), np.array([0.229, 0.224, 0.225]) ** 2)),
}
models = {}


def build(name, size):
    make, _, normalization = BACKBONES[name]
    model = make(include_top=False, weights=None, input_shape=(size, size, 3))
    if normalization is not None:
        norm = next(l for l in model.layers if type(l).__name__ == "Normalization")
        w = norm.get_weights()
        norm.set_weights([normalization[0].reshape(w[0].shape), normalization[1].reshape(w[1].shape), w[2]])
        norm.finalize_state()
    return model


def make(job, calibration=None):
    """Random weights and BatchNorm statistics; with `calibration` (images for calibrate_batch_norms), statistics near theirs."""
    keras.utils.set_random_seed(job["seed"])
    rng = np.random.default_rng(job["seed"])
    model = build(job["backbone"], 96)
    for layer in model.layers:
        if type(layer).__name__ == "BatchNormalization":
            c = layer.get_weights()[0].shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c), rng.normal(0, 0.2, c), rng.uniform(0.5, 2, c)])
    if calibration is not None:
        calibrate_batch_norms(model, calibration, rng)
    with h5py.File(job["h5"], "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    return {"ok": True}


def run(job):
    name, size = job["backbone"], job["size"]
    key = (name, size)
    if key not in models:
        model = build(name, size)
        with h5py.File(job["h5"], "r") as f:
            legacy_h5_format.load_weights_from_hdf5_group_by_name(f, model)
        x = np.fromfile(job["images"], "<f4").reshape(job["count"], size, size, 3)
        pre = BACKBONES[name][1]
        x = x if pre is None else pre(x.copy())
        model.predict(x[: job["batch"] * 2], batch_size=job["batch"], verbose=0)  # trace + warm up
        models[key] = (model, x)
    model, x = models[key]
    t0 = time.perf_counter()
    y = model.predict(x, batch_size=job["batch"], verbose=0)
    seconds = time.perf_counter() - t0
    return {"images_per_second": len(x) / seconds, "seconds": seconds, "output_shape": list(y.shape)}


def main():
    print(json.dumps({"ready": True, "keras": keras.__version__, "tensorflow": __import__("tensorflow").__version__}), flush=True)
    for line in sys.stdin:
        job = json.loads(line)
        if job["cmd"] == "make":
            out = make(job)
        elif job["cmd"] == "run":
            out = run(job)
        else:
            out = {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":  # bench/backbones_keras.py imports make and BACKBONES
    main()
