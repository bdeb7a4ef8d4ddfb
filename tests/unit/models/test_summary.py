"""Per-layer figures: parameters equal Keras', FLOPs equal a hand count."""

import keras

from cnnkit.models.spec import build_from_spec
from cnnkit.models.summary import human, human_bytes, summarize
from tests.unit.models.test_spec import LECTURE_LENET


def test_lenet_table_parameters_flops_and_memory():
    result = summarize(build_from_spec(LECTURE_LENET, [32, 32, 3]))
    layers = result["layers"]
    assert layers[0]["type"] == "InputLayer"
    assert [row["params"] for row in layers[1:]] == [608, 0, 3216, 0, 0, 48120, 10164, 850]
    assert result["total_params"] == 62958 == result["trainable_params"]
    conv1 = 28 * 28 * 8 * (5 * 5 * 3) * 2
    conv2 = 10 * 10 * 16 * (5 * 5 * 8) * 2
    dense = (400 * 120 + 120 * 84 + 84 * 10) * 2
    pools = 14 * 14 * 8 * 4 + 5 * 5 * 16 * 4
    assert result["flops"] == conv1 + conv2 + dense + pools
    assert layers[1]["output_shape"] == [None, 28, 28, 8]
    elements = 32 * 32 * 3 + 28 * 28 * 8 + 14 * 14 * 8 + 10 * 10 * 16 + 5 * 5 * 16 + 400 + 120 + 84 + 10
    assert result["activation_bytes"] == 4 * elements


def test_batchnorm_counts_split_trainable_and_non_trainable():
    model = build_from_spec([{"BatchNormalization": {}}], [4, 4, 3])
    result = summarize(model)
    assert result["trainable_params"] == 6 and result["non_trainable_params"] == 6
    assert result["total_params"] == model.count_params()


def test_frozen_layers_are_reported_as_non_trainable():
    model = build_from_spec([{"Flatten": {}}, {"Dense": {"units": 2}, "name": "d"}], [2, 2, 1])
    model.get_layer("d").trainable = False
    result = summarize(model)
    assert result["trainable_params"] == 0 and result["non_trainable_params"] == 10


def test_depthwise_separable_and_transposed_convolutions():
    model = build_from_spec([
        {"DepthwiseConv2D": {"kernel_size": 3, "padding": "same", "use_bias": False}, "name": "dw"},
        {"SeparableConv2D": {"filters": 4, "kernel_size": 3, "padding": "same", "use_bias": False}, "name": "sep"},
        {"Conv2DTranspose": {"filters": 2, "kernel_size": 2, "strides": 2, "use_bias": False}, "name": "up"},
    ], [8, 8, 3])
    flops = {row["name"]: row["flops"] for row in summarize(model)["layers"]}
    assert flops["dw"] == 2 * 8 * 8 * 3 * 9
    assert flops["sep"] == 2 * (8 * 8 * 3 * 9 + 8 * 8 * 3 * 4)
    assert flops["up"] == 2 * 8 * 8 * 4 * 2 * 2 * 2


def test_nested_model_flops_are_summed():
    inner = build_from_spec([{"Dense": {"units": 3}}], [5])
    inputs = keras.Input((5,))
    outer = keras.Model(inputs, inner(inputs))
    assert summarize(outer)["flops"] == 2 * 5 * 3


def test_human_readable_figures():
    assert human(1_816_832) == "1.82M"
    assert human(512) == "512"
    assert human_bytes(35_626) == "34.79 KiB"
