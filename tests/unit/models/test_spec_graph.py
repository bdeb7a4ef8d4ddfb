"""Graph specs with blocks: arguments, repeat, rank-generic layers, prefixes, and errors that name
the nodes, their shapes and the block path."""

import keras
import pytest

from cnnkit.errors import ModelSpecError
from cnnkit.models.spec import build_from_spec, parse_layers

CONV_BN = {
    "args": {"filters": "???", "strides": 1},
    "layers": [
        {"ConvND": {"filters": "$filters", "kernel_size": 3, "strides": "$strides", "padding": "same"},
         "name": "conv"},
        {"BatchNormalization": {}, "name": "bn"},
    ],
}
RESIDUAL = {  # a residual unit whose shortcut is chosen by name
    "args": {"filters": "???", "strides": 1, "shortcut": "identity"},
    "layers": [
        {"$shortcut": {"filters": "$filters", "strides": "$strides"}, "name": "shortcut"},
        {"conv_bn": {"filters": "$filters", "strides": "$strides"}, "name": "branch", "inputs": "input"},
        {"Add": {}, "name": "add", "inputs": ["shortcut", "branch"]},
    ],
}
BLOCKS = {
    "conv_bn": CONV_BN,
    "identity": {"args": {"filters": None, "strides": 1}, "layers": []},
    "projection": {"args": {"filters": "???", "strides": 1},
                   "layers": [{"ConvND": {"filters": "$filters", "kernel_size": 1, "strides": "$strides"}}]},
    "residual": RESIDUAL,
}


def layer_types(model):
    return {layer.name: type(layer).__name__ for layer in model.layers}


def test_block_instances_get_unique_prefixes_and_repeat_chains_them():
    layers = [{"conv_bn": {"filters": 8}, "name": "stem", "repeat": 2},
              {"conv_bn": {"filters": 4, "strides": 2}}]
    model = build_from_spec(layers, [16, 16, 3], blocks=BLOCKS)
    types = layer_types(model)
    assert types["stem.1.conv"] == "Conv2D" and types["stem.2.bn"] == "BatchNormalization"
    assert types["conv_bn_1.conv"] == "Conv2D"
    assert model.get_layer("stem.2.conv").input.shape == (None, 16, 16, 8)  # chained to stem.1
    assert model.output.shape == (None, 8, 8, 4)


@pytest.mark.parametrize("shape, conv", [([32, 2], "Conv1D"), ([8, 8, 2], "Conv2D"), ([4, 4, 4, 2], "Conv3D")])
def test_nd_layers_follow_the_input_rank(shape, conv):
    model = build_from_spec([{"conv_bn": {"filters": 3}, "name": "b"}], shape, blocks=BLOCKS)
    assert layer_types(model)["b.conv"] == conv
    assert model.output.shape == (None, *shape[:-1], 3)


def test_rank_passed_to_a_block_overrides_the_model_rank():
    blocks = {"pool": {"args": {}, "layers": [{"MaxPoolingND": {"pool_size": 2}, "name": "p"}]}}
    model = build_from_spec([{"Reshape": {"target_shape": [8, 8]}}, {"pool": {"rank": 1}, "name": "x"}],
                            [64], blocks=blocks, rank=2)
    assert layer_types(model)["x.p"] == "MaxPooling1D"


def test_shortcut_chosen_by_argument_identity_or_projection():
    layers = [{"residual": {"filters": 4, "shortcut": "identity"}, "name": "same"},
              {"residual": {"filters": 8, "strides": 2, "shortcut": "projection"}, "name": "down"}]
    model = build_from_spec(layers, [8, 8, 4], blocks=BLOCKS)
    names = layer_types(model)
    assert not [n for n in names if n.startswith("same.shortcut")]  # identity: no layer at all
    assert names["down.shortcut.conv2d_0"] == "Conv2D"  # ND resolved in the default name
    assert model.get_layer("down.add").input[0].shape == (None, 4, 4, 8)  # strided projection


def test_arithmetic_defaults_and_channels():
    blocks = {"expand": {"args": {"filters": "???", "wide": "$filters * 4"},
                         "layers": [{"Conv2D": {"filters": "$wide", "kernel_size": 1}, "name": "c"},
                                    {"Conv2D": {"filters": "$channels // 2 + 1", "kernel_size": 1}, "name": "h"}]}}
    model = build_from_spec([{"expand": {"filters": 3}, "name": "e"}], [4, 4, 1], blocks=blocks)
    assert model.get_layer("e.c").output.shape[-1] == 12
    assert model.get_layer("e.h").output.shape[-1] == 7  # 12 // 2 + 1


def test_repeat_zero_skips_the_item_and_passes_its_input_on():
    layers = [{"Conv2D": {"filters": 2, "kernel_size": 1}, "name": "a"},
              {"Conv2D": {"filters": 5, "kernel_size": 1}, "name": "skipped", "repeat": 0},
              {"Flatten": {}, "inputs": "skipped"}]
    model = build_from_spec(layers, [2, 2, 1])
    assert "skipped" not in layer_types(model)
    assert model.output.shape == (None, 8)


def test_multi_input_block_and_references_to_inner_layers():
    blocks = {"merge": {"inputs": ["input", "skip"], "args": {},
                        "layers": [{"Conv2D": {"filters": 2, "kernel_size": 1}, "name": "proj", "inputs": "skip"},
                                   {"Concatenate": {}, "name": "cat", "inputs": ["input", "proj"]}]}}
    layers = [{"Conv2D": {"filters": 3, "kernel_size": 1}, "name": "a"},
              {"merge": {}, "name": "m", "inputs": ["a", "input"]},
              {"Flatten": {}, "name": "f", "inputs": "m.proj"}]
    model = build_from_spec(layers, [2, 2, 1], blocks=blocks, outputs=["m", "f"])
    assert [tuple(o.shape) for o in model.outputs] == [(None, 2, 2, 5), (None, 8)]


def test_block_model_saves_and_reloads_in_safe_mode(tmp_path):
    model = build_from_spec([{"residual": {"filters": 4, "shortcut": "projection"}, "name": "r"}],
                            [8, 8, 2], blocks=BLOCKS)
    model.save(tmp_path / "m.keras")
    again = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert [layer.name for layer in again.layers] == [layer.name for layer in model.layers]


def test_skip_mismatch_names_both_nodes_their_shapes_and_the_merge():
    layers = [{"Conv2D": {"filters": 16, "kernel_size": 3, "padding": "same"}, "name": "branch_a"},
              {"Conv2D": {"filters": 32, "kernel_size": 3, "strides": 2, "padding": "same"}, "name": "branch_b"},
              {"Add": {}, "name": "merge", "inputs": ["branch_a", "branch_b"]}]
    with pytest.raises(ModelSpecError, match=(
            r"model\.layers\[2\] \(Add 'merge'\) cannot merge 'branch_a' with shape \(None, 32, 32, 16\) "
            r"and 'branch_b' with shape \(None, 16, 16, 32\): Add needs equal shapes")):
        build_from_spec(layers, [32, 32, 3])


def test_mismatch_inside_a_block_gives_the_block_path():
    layers = [{"residual": {"filters": 8, "strides": 2}, "name": "r"}]  # identity shortcut cannot stride
    with pytest.raises(ModelSpecError, match=(
            r"model\.layers\[0\] > model\.blocks\.residual\.layers\[2\] \(Add 'r\.add'\) cannot merge "
            r"'input' with shape \(None, 8, 8, 4\) and 'r\.branch\.bn' with shape \(None, 4, 4, 8\)")):
        build_from_spec(layers, [8, 8, 4], blocks=BLOCKS)


def test_reference_to_a_later_item_is_named_as_a_cycle():
    layers = [{"Dense": {"units": 2}, "name": "a", "inputs": "b"}, {"Dense": {"units": 2}, "name": "b", "inputs": "a"}]
    with pytest.raises(ModelSpecError, match=r"model\.layers\[0\] \('a'\): `inputs` refers to 'b', defined later "
                                             r"at model\.layers\[1\].*cycle"):
        parse_layers(layers)


def test_dangling_input_inside_a_block_names_the_block_path():
    blocks = {"bad": {"args": {}, "layers": [{"Dense": {"units": 1}, "inputs": "nowhere"}]}}
    with pytest.raises(ModelSpecError, match=r"model\.layers\[0\] > model\.blocks\.bad\.layers\[0\].*'nowhere'"):
        parse_layers([{"bad": {}}], blocks=blocks)


@pytest.mark.parametrize("item, message", [
    ({"conv_bn": {}}, r"model\.layers\[0\]: block 'conv_bn' needs argument 'filters'"),
    ({"conv_bn": {"filters": 2, "filter": 3}}, r"has no argument 'filter'.*Did you mean: filters"),
    ({"conv_bn": {"filters": "$width"}}, r"refers to \$width, which is not an argument"),
    ({"conv_bn": {"filters": 2}, "repeat": -1}, r"`model\.layers\[0\]\.repeat` must be an integer >= 0"),
    ({"SeparableConvND": {"filters": 1, "kernel_size": 1}}, r"'SeparableConvND' at rank 3 would be 'SeparableConv3D'"),
    ({"conv_bn_typo": {}}, r"unknown layer type.*'conv_bn_typo'.*Did you mean: conv_bn"),
])
def test_argument_and_name_errors(item, message):
    with pytest.raises(ModelSpecError, match=message):
        parse_layers([item], blocks=BLOCKS, rank=3)


@pytest.mark.parametrize("expression", [
    "__import__('os') or $filters", "$filters.bit_length()", "[1] * $filters", "$filters if 1 else 2"])
def test_expressions_cannot_run_code(expression):
    blocks = {"b": {"args": {"filters": 4}, "layers": [{"Dense": {"units": expression}}]}}
    with pytest.raises(ModelSpecError, match=r"is not `\$arg` or arithmetic"):
        parse_layers([{"b": {}}], blocks=blocks)


def test_block_definition_errors():
    with pytest.raises(ModelSpecError, match=r"`model\.blocks\.Dense`: a block cannot be called like the keras layer"):
        parse_layers([{"Dense": {"units": 1}}], blocks={"Dense": {"layers": []}})
    with pytest.raises(ModelSpecError, match=r"`model\.blocks\.b` has unknown keys \['layer'\]"):
        parse_layers([{"b": {}}], blocks={"b": {"layers": [], "layer": []}})
    loop = {"loop": {"args": {}, "layers": [{"loop": {}}]}}
    with pytest.raises(ModelSpecError, match=r"blocks nest more than 16 deep \(does 'loop' call itself\?\)"):
        parse_layers([{"loop": {}}], blocks=loop)


def test_input_too_small_for_the_poolings_is_named():
    layers = [{"MaxPooling2D": {"pool_size": 2}, "name": f"p{i}"} for i in range(4)]
    with pytest.raises(ModelSpecError, match=r"model\.layers\[3\] \(MaxPooling2D 'p3'\) gives an empty output.*too small"):
        build_from_spec(layers, [8, 8, 1])


def test_summary_rows_list_the_inputs_of_each_layer():
    from cnnkit.models.summary import summarize

    layers = [{"Conv2D": {"filters": 2, "kernel_size": 1}, "name": "a"},
              {"Conv2D": {"filters": 2, "kernel_size": 1}, "name": "b"},
              {"Add": {}, "name": "skip", "inputs": ["a", "b"]}]
    rows = {row["name"]: row["inputs"] for row in summarize(build_from_spec(layers, [4, 4, 1]))["layers"]}
    assert rows == {"input": [], "a": ["input"], "b": ["a"], "skip": ["a", "b"]}


def test_rank_that_does_not_fit_the_input_is_named():
    with pytest.raises(ModelSpecError, match=(r"`model\.rank` is 1 but `model\.input_shape` \[8, 8, 1\] has 2 "
                                              r"spatial dimension\(s\).*\(steps, then channels\)")):
        build_from_spec([{"conv_bn": {"filters": 2}}], [8, 8, 1], blocks=BLOCKS, rank=1)


def test_arithmetic_on_numbers_alone_is_computed_as_an_interpolation_leaves_it():
    layers = [{"Conv2D": {"filters": "4 * 2", "kernel_size": "(1 + 2)", "padding": "same"},
               "name": "c"},
              {"BatchNormalization": {"epsilon": "1e-3"}, "name": "bn"}]  # YAML 1.1: a string
    model = build_from_spec(layers, [4, 4, 1])
    assert model.get_layer("c").output.shape[-1] == 8
    assert model.get_layer("c").kernel_size == (3, 3)
    assert model.get_layer("bn").epsilon == pytest.approx(1e-3)
