"""The plan's rules as pure functions: a data profile in, choices out."""

from __future__ import annotations

import pytest

from cnnkit.data.profile import DataProfile
from cnnkit.training.plan import hydra_value, make_plan


def profile(size=(28, 28), channels=1, examples=3000, rank=2, target="label", counts=(1000,) * 3,
            foreground=None, source="folder", low=None, high=None) -> DataProfile:
    return DataProfile(source, rank, examples, size, low or size, high or size, channels, target,
                       counts, foreground)


def values(plan) -> dict:
    return {c.key: c.value for c in plan.choices}


def test_small_gray_images_get_a_small_stem_resnet_and_no_mirrors():
    chosen = values(make_plan(profile(), "classification", {}))
    assert chosen["model"] == "resnet18" and chosen["model.stem"] == "small"
    assert chosen["data.image_size"] is None  # 28 px kept
    assert chosen["augment"] == "light_noflip"
    assert chosen["data.batch_size"] == 128 and chosen["trainer.max_time"] == "10m"
    assert chosen["optimizer"] == "adamw" and chosen["optimizer.schedule"] == "cosine"
    assert 10 <= chosen["trainer.epochs"] <= 60
    assert "task.class_weight" not in chosen  # balanced classes


def test_large_rgb_images_are_capped_and_get_the_imagenet_stem():
    chosen = values(make_plan(profile((512, 768), 3, examples=30000), "classification", {}))
    assert chosen["data.image_size"] == 224
    assert chosen["model"] == "resnet34" and chosen["model.stem"] == "imagenet"
    assert chosen["data.batch_size"] == 32 and chosen["augment"] == "light"
    why = next(c.why for c in make_plan(profile((512, 768), 3), "classification", {}).choices
               if c.key == "data.image_size")
    assert "aspect 1.50" in why


def test_small_images_of_different_sizes_are_resized_to_their_median():
    chosen = values(make_plan(profile((40, 40), low=(20, 30), high=(60, 64)), "classification", {}))
    assert chosen["data.image_size"] == 40


def test_volumes_get_a_3d_unet_and_a_shape_in_multiples_of_8():
    vol = profile((50, 200, 31), rank=3, examples=40, target="mask", counts=(), foreground=0.3,
                  source="nifti")
    chosen = values(make_plan(vol, "segmentation", {}))
    assert chosen["model"] == "unet3d" and chosen["model.input_shape"] is None
    assert chosen["data.shape"] == [48, 96, 24]
    assert chosen["data.batch_size"] == 2 and chosen["augment"] == "strong"
    assert values(make_plan(vol, "classification", {}))["model"] == "cnn3d"


def test_2d_segmentation_gets_a_unet_at_a_multiple_of_16():
    chosen = values(make_plan(profile((300, 300), target="mask", counts=(), foreground=0.01),
                              "segmentation", {}))
    assert chosen["model"] == "unet" and chosen["data.image_size"] == 256
    assert chosen["model.base_filters"] == 32 and chosen["data.batch_size"] == 8
    assert chosen["task.loss"] == "tversky"  # 1% foreground


def test_imbalanced_classes_are_weighted():
    chosen = values(make_plan(profile(counts=(900, 100)), "classification", {}))
    assert chosen["task.class_weight"] == "balanced"


def test_the_users_keys_win_and_the_rules_read_them():
    plan = make_plan(profile(examples=4000), "classification",
                     {"data.batch_size": 16, "trainer.epochs": 3, "optimizer": "sgd",
                      "data.image_size": 96})
    chosen = values(plan)
    assert chosen["data.batch_size"] == 16 and chosen["trainer.epochs"] == 3
    assert chosen["model.stem"] == "imagenet"  # from the user's 96 px, not the data's 28
    assert "optimizer.weight_decay" not in chosen  # the user's optimizer: no AdamW decay
    assert chosen["optimizer.warmup_epochs"] == 0  # 3 epochs: no warm-up
    overrides = plan.overrides()
    assert "data.batch_size=16" not in overrides and "optimizer=adamw" not in overrides
    assert "model=resnet18" in overrides and "model.stem=imagenet" in overrides


@pytest.mark.parametrize("task", ["regression", "autoencoder"])
def test_other_tasks_keep_the_default_model_and_nothing_else(task):
    plan = make_plan(profile(), task, {})
    assert [(c.key, c.value) for c in plan.choices] == [("data.image_size", None),
                                                        ("model", "default")]


def test_values_are_written_as_hydra_reads_them():
    assert [hydra_value(v) for v in (None, True, [48, 48, 32], "10m")] == [
        "null", "true", "[48,48,32]", "10m"]
