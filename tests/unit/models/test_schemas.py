"""The Keras names the validation pass checks without TensorFlow are Keras' own."""

from __future__ import annotations

import pytest

from cnnkit.config.check import check_group
from cnnkit.errors import ConfigError
from cnnkit.models.schemas import (
    ACTIVATIONS,
    CONSTRAINTS,
    INITIALIZERS,
    REGULARIZERS,
    SpecModelSchema,
    check_spec,
)


def test_static_name_lists_match_the_installed_keras() -> None:
    from keras.src import activations, constraints, initializers, regularizers

    def public(objects: dict) -> set[str]:
        return {k for k in objects if k[0].islower()} - {"initializer", "regularizer", "constraint"}

    assert set(ACTIVATIONS) == set(activations.ALL_OBJECTS_DICT)
    assert set(INITIALIZERS) == public(initializers.ALL_OBJECTS_DICT)
    assert set(REGULARIZERS) == public(regularizers.ALL_OBJECTS_DICT)
    assert set(CONSTRAINTS) == public(constraints.ALL_OBJECTS_DICT)


def test_camel_case_class_names_are_accepted_and_typos_suggested() -> None:
    layers = [{"Conv2D": {"filters": 4, "kernel_initializer": "GlorotUniform", "padding": "same"}},
              {"Dense": {"units": 2, "kernel_regularizer": "l2"}}]
    check_spec({"layers": layers}, {})
    with pytest.raises(ConfigError, match=r"`model.layers\[0\].Conv2D.kernel_initializer`.*"
                                          r"Did you mean: he_normal"):
        check_spec({"layers": [{"Conv2D": {"kernel_initializer": "he_nromal"}}]}, {})


def test_block_arguments_are_left_to_the_builder() -> None:
    blocks = {"conv": {"args": {"act": "???"}, "layers": [{"Conv2D": {"activation": "$act"}}]}}
    check_spec({"layers": [], "blocks": blocks}, {})


def test_rank_is_read_from_layer_names_or_model_rank() -> None:
    assert SpecModelSchema.rank_of({"layers": [{"Conv3D": {}}, {"MaxPooling3D": {}}]}) == 3
    assert SpecModelSchema.rank_of({"layers": [{"ConvND": {}}], "rank": 1}) == 1
    assert SpecModelSchema.rank_of({"layers": [{"Dense": {}}]}) is None


def test_input_shape_sizes_must_be_positive() -> None:
    values = check_group({"input_shape": [0, 8, 1]}, SpecModelSchema, "model")
    with pytest.raises(ConfigError, match=r"`model.input_shape` must list positive sizes"):
        check_spec(values, {})
