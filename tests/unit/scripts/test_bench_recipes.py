"""scripts/bench_recipes.py without training: its arguments, its recipes' data and anchors, and
the plain Keras baseline's size (the 468k-parameter CNN the issue compares with)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.scripts import REPO, loaded_script


@pytest.fixture(scope="module")
def bench():
    yield from loaded_script("bench_recipes")


def test_arguments_choose_recipes_and_the_quick_mode(bench):
    args = bench.parse_args([])
    assert args.recipes == ["fashion_mnist", "mnist"] and not args.quick
    args = bench.parse_args(["--recipes", "mnist", "--quick", "--data", "/d"])
    assert args.recipes == ["mnist"] and args.quick and args.data == Path("/d")
    with pytest.raises(SystemExit):
        bench.parse_args(["--recipes", "cifar100"])


def test_every_benchmarked_recipe_is_a_conf_experiment_with_its_anchor(bench):
    for name, recipe in bench.RECIPES.items():
        assert (REPO / "conf" / "experiment" / f"{name}.yaml").is_file()
        assert recipe.npz.endswith(".npz") and 0.9 < recipe.target <= recipe.anchor < 1


def test_the_plain_baseline_is_the_468k_four_conv_bn_cnn(bench):
    model = bench.plain_cnn(10)
    assert model.count_params() == 468_586
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("Conv2D") == 4 and kinds.count("BatchNormalization") == 4


def test_a_missing_data_folder_is_reported_not_trained(bench, tmp_path, capsys):
    assert bench.main(["--recipes", "mnist", "--data", str(tmp_path)]) == 2
    assert "mnist/mnist.npz" in capsys.readouterr().err
