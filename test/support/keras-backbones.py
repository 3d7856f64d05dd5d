"""Reference side of the backbone parity test (test/pipeline/model/arch/keras-parity.int.test.ts).

For each requested backbone: builds it with keras.applications (include_top=False, weights=None) at a
small input size, gives every bias and BatchNormalization random non-trivial values (seeded; see
randomize: identity BN and zero biases would hide mistakes), saves the weights in the legacy HDF5
layout of Keras's official notop files (which also holds EfficientNet's in-model Normalization, its
`count` an int64 scalar as in efficientnetb0_notop.h5), and writes the last feature map for seeded
raw-pixel images (the test's: real Fashion-MNIST images, upsampled and made 3-channel by
transferkit, in imagesFile) after Keras's own preprocessing. Prints JSON: per backbone the weighted layers (name, weight shapes) in
model order, and the output shape. Normalization/Rescaling layers are Keras's in-model preprocessing,
which transferkit applies outside the graph: they are left out of the layer list.

Also every layer's name and class in model order.

argv[1]: {"outDir": str, "imagesFile": str (float32 [images, size, size, 3], raw 0-255 RGB), "size": int,
          "images": int, "seed": int, "backbones": [name, ...]}
"""
import json, os, sys
import numpy as np, h5py, keras
from keras_apps import calibrate_batch_norms, lite0  # test/support is on PYTHONPATH (test/support/python.ts)
from keras.src.legacy.saving import legacy_h5_format

job = json.loads(sys.argv[1])
size, seed = job["size"], job["seed"]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406])
IMAGENET_STD = np.array([0.229, 0.224, 0.225])


# name -> (constructor, preprocessing on raw pixels, in-model normalization (mean, variance) or None)
BACKBONES = {
    "mobilenet_v2": (keras.applications.MobileNetV2, keras.applications.mobilenet_v2.preprocess_input, None),
    "resnet50": (keras.applications.ResNet50, keras.applications.resnet50.preprocess_input, None),
    # weights=None: Rescaling(1/255) + Normalization, which computes (x/255 - mean)/sqrt(variance).
    "efficientnet_b0": (keras.applications.EfficientNetB0, None, (IMAGENET_MEAN, IMAGENET_STD**2)),
    # Lite's (x - 127) / 128 as Rescaling(1/255) + Normalization.
    "efficientnet_lite0": (lite0, None, (np.full(3, 127 / 255), np.full(3, (128 / 255) ** 2))),
}


def randomize(model, rng, x):
    """Random biases, BatchNorm gammas and betas, then moving statistics close to the ones the images
    produce in inference mode (one training-mode pass with momentum 0 records the batch statistics,
    which a small perturbation then moves; variances are floored). With arbitrary moving statistics a deep random network
    either forgets its input (any preprocessing would pass the check) or amplifies rounding chaotically."""
    for layer in model.layers:
        cls = type(layer).__name__
        if cls in ("Conv2D", "DepthwiseConv2D") and getattr(layer, "use_bias", False):
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0, 0.1, bias.shape)])
        elif cls == "BatchNormalization":
            _, _, mean, var = layer.get_weights()
            c = mean.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, c), rng.normal(0, 0.2, c), mean, var])
    calibrate_batch_norms(model, x, rng)


def set_normalization(model, mean, variance):
    norm = next(l for l in model.layers if type(l).__name__ == "Normalization")
    weights = norm.get_weights()  # mean, variance, count
    norm.set_weights([mean.reshape(weights[0].shape), variance.reshape(weights[1].shape), weights[2]])
    norm.finalize_state()  # Keras 3 computes with the values of its last finalize_state, not the variables


SKIP = ("Normalization", "Rescaling", "InputLayer")


def weighted_layers(model):
    return [[l.name, [list(w.shape) for w in l.weights]] for l in model.layers if l.weights and type(l).__name__ not in SKIP]


def all_layers(model):
    return [[l.name, type(l).__name__] for l in model.layers if type(l).__name__ not in SKIP]


rng = np.random.default_rng(seed)
images = np.fromfile(job["imagesFile"], "<f4").reshape(job["images"], size, size, 3)
result = {"keras": keras.__version__, "backbones": {}}
for name in job["backbones"]:
    make, preprocess, normalization = BACKBONES[name]
    keras.utils.set_random_seed(seed)
    model = make(include_top=False, weights=None, input_shape=(size, size, 3))
    if normalization is not None:
        set_normalization(model, *normalization)
    x = images.copy() if preprocess is None else preprocess(images.copy())
    randomize(model, rng, x)
    with h5py.File(os.path.join(job["outDir"], f"{name}.h5"), "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    y = np.asarray(model.predict(x, verbose=0), dtype="<f4")
    y.tofile(os.path.join(job["outDir"], f"{name}.out.f32"))
    result["backbones"][name] = {"layers": weighted_layers(model), "allLayers": all_layers(model), "outputShape": list(y.shape)}
print(json.dumps(result))
