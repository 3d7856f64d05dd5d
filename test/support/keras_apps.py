"""Keras helpers shared by the parity test's reference side (keras-backbones.py) and the benches'
Keras side (bench/frozen_forward_keras.py, bench/backbones_keras.py): EfficientNet-Lite0 built
through Keras's own EfficientNet, and BatchNorm moving statistics calibrated on images."""
import copy
import numpy as np
from keras.src.applications import efficientnet


def lite0(**kw):
    """EfficientNet-Lite0 through Keras's own EfficientNet: B0's stages without squeeze-excitation, ReLU6."""
    blocks = copy.deepcopy(efficientnet.DEFAULT_BLOCKS_ARGS)
    for b in blocks:
        b["se_ratio"] = 0.0
    return efficientnet.EfficientNet(1.0, 1.0, 224, 0.2, activation="relu6", blocks_args=blocks, name="efficientnet_lite0", **kw)


def calibrate_batch_norms(model, x, rng):
    """Moving statistics near the ones `x` (preprocessed images) produces in inference mode: one
    training-mode pass with momentum 0 and dropout off records each BatchNorm's batch statistics, which
    a small perturbation then moves. Variances are floored: a near-constant channel (dead ReLUs) would
    blow float32 rounding up by 1/sqrt(epsilon). Arbitrary statistics make a deep random network
    saturate or forget its input."""
    bns = [l for l in model.layers if type(l).__name__ == "BatchNormalization"]
    drops = [l for l in model.layers if type(l).__name__ == "Dropout"]
    momenta, rates = [bn.momentum for bn in bns], [d.rate for d in drops]
    for bn in bns:
        bn.momentum = 0.0
    for d in drops:
        d.rate = 0.0
    model(x, training=True)
    for bn, momentum in zip(bns, momenta):
        bn.momentum = momentum
        gamma, beta, mean, var = bn.get_weights()
        c = gamma.shape[0]
        var = np.maximum(var, 0.01 * np.mean(var))
        bn.set_weights([gamma, beta, mean + rng.normal(0, 0.1, c) * np.sqrt(var), var * rng.uniform(0.8, 1.25, c)])
    for d, rate in zip(drops, rates):
        d.rate = rate
