"""YAML layer specs -> Keras models: chains, graphs, and errors that name the item."""

import keras
import pytest

from cnnkit.errors import ModelSpecError
from cnnkit.models.spec import build_from_spec, parse_layers

LECTURE_LENET = [
    {"Conv2D": {"filters": 8, "kernel_size": 5, "activation": "relu"}},
    {"MaxPooling2D": {"pool_size": 2}},
    {"Conv2D": {"filters": 16, "kernel_size": 5, "activation": "relu"}},
    {"MaxPooling2D": {"pool_size": 2}},
    {"Flatten": {}},
    {"Dense": {"units": 120, "activation": "relu"}},
    {"Dense": {"units": 84, "activation": "relu"}},
    {"Dense": {"units": 10, "activation": "softmax"}},
]


def test_chain_builds_with_the_correct_parameter_counts():
    model = build_from_spec(LECTURE_LENET, [32, 32, 3])
    counts = [layer.count_params() for layer in model.layers[1:]]
    assert counts == [608, 0, 3216, 0, 0, 48120, 10164, 850]
    assert model.count_params() == 62958


def test_graph_with_a_skip_connection():
    layers = [
        {"Conv2D": {"filters": 4, "kernel_size": 3, "padding": "same"}, "name": "a"},
        {"Conv2D": {"filters": 4, "kernel_size": 3, "padding": "same"}, "name": "b"},
        {"Add": {}, "name": "merge", "inputs": ["a", "b"]},
        {"Concatenate": {}, "name": "cat", "inputs": ["merge", "input"]},
        {"GlobalAveragePooling2D": {}},
        {"Dense": {"units": 2}},
    ]
    model = build_from_spec(layers, [8, 8, 1])
    assert model.get_layer("cat").output.shape == (None, 8, 8, 5)
    assert model.output.shape == (None, 2)


def test_several_outputs():
    layers = [
        {"Flatten": {}, "name": "flat"},
        {"Dense": {"units": 3}, "name": "head_a"},
        {"Dense": {"units": 1}, "name": "head_b", "inputs": "flat"},
    ]
    model = build_from_spec(layers, [4, 4, 1], outputs=["head_a", "head_b"])
    assert [tuple(o.shape) for o in model.outputs] == [(None, 3), (None, 1)]


def test_unknown_layer_suggests_the_closest():
    with pytest.raises(ModelSpecError, match=r"model\.layers\[0\].*'Conv2DD'.*Did you mean: Conv2D"):
        build_from_spec([{"Conv2DD": {"filters": 8}}], [8, 8, 1])


def test_bad_keyword_names_layer_index_name_and_key():
    with pytest.raises(ModelSpecError, match=r"model\.layers\[0\] \(Conv2D 'c1'\).*'kernel_sise'.*kernel_size"):
        build_from_spec([{"Conv2D": {"filters": 8, "kernel_sise": 3}, "name": "c1"}], [8, 8, 1])


def test_impossible_shape_names_the_layer_where_it_broke():
    layers = [{"Conv2D": {"filters": 4, "kernel_size": 5}}, {"Conv2D": {"filters": 4, "kernel_size": 5}, "name": "too_big"}]
    with pytest.raises(ModelSpecError, match=r"model\.layers\[1\] \(Conv2D 'too_big'\).*\(None, 4, 4, 4\)"):
        build_from_spec(layers, [8, 8, 1])


def test_dangling_input_and_duplicate_names_are_errors():
    with pytest.raises(ModelSpecError, match=r"refers to 'nowhere'"):
        parse_layers([{"Dense": {"units": 1}, "inputs": "nowhere"}])
    with pytest.raises(ModelSpecError, match=r"used twice"):
        parse_layers([{"Dense": {"units": 1}, "name": "x"}, {"Dense": {"units": 1}, "name": "x"}])


def test_code_running_layers_are_refused():
    with pytest.raises(ModelSpecError, match=r"unknown layer type.*'Lambda'"):
        parse_layers([{"Lambda": {"function": "print"}}])


def test_item_must_name_exactly_one_layer():
    with pytest.raises(ModelSpecError, match=r"exactly one layer type"):
        parse_layers([{"Dense": {"units": 1}, "Conv2D": {"filters": 1}}])


def test_model_saves_and_reloads_in_safe_mode(tmp_path):
    model = build_from_spec(LECTURE_LENET, [32, 32, 3])
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert again.count_params() == model.count_params()
