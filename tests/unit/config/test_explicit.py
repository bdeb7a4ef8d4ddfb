"""Which keys and groups a command line set, itself or through its conf file."""

from __future__ import annotations

from cnnkit.config.explicit import explicit_settings


def test_keys_groups_and_selectors_of_the_command_line():
    found = explicit_settings(["trainer.epochs=3", "optimizer=sgd", "data.source=folder",
                               "+augment.where=model", "-m", "hydra.run.dir=x"])
    assert found.keys == {"trainer.epochs", "data.source", "augment.where"}
    assert found.groups == {"optimizer": "sgd", "data": None}
    assert found.has("augment") and found.has("trainer.epochs")
    assert not found.has("trainer.max_time") and not found.has("model")


def test_a_conf_file_sets_its_keys_and_defaults(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("defaults:\n  - override /augment: strong\n"
                    "model:\n  layers:\n    - Dense: {units: 3}\ndata:\n  batch_size: 16\n")
    found = explicit_settings([f"conf={path}"])
    assert found.groups == {"augment": "strong"}
    assert found.has("model") and found.has("data.batch_size")


def test_a_shipped_experiment_sets_its_model():
    assert explicit_settings(["conf=volumes_segmentation"]).has("model")
