"""A frozen MobileNetV2 backbone trains on gray images; the run reloads and evaluates."""

import json

import keras
import pytest

pytestmark = pytest.mark.slow

ARGS = ("model=backbone", "model.name=MobileNetV2", "model.weights=null", "model.freeze=all",
        "model.input_shape=[32,32,1]", "data=shapes")


def test_frozen_backbone_trains_one_epoch_on_gray_shapes(cli, tmp_path):
    run = tmp_path / "run"
    out = cli("train", *ARGS, "data.num_train=96", "data.num_val=32", "data.num_test=32",
              "trainer.epochs=1", f"hydra.run.dir={run}").stdout
    assert "data.normalize=rescale" in out
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["normalize"] == "rescale" and prep["target_shape"] == [32, 32, 1]

    import cnnkit.models.layers  # noqa: F401  registers BackbonePreprocessing

    model = keras.models.load_model(run / "model.keras", safe_mode=True)
    backbone = next(layer for layer in model.layers if isinstance(layer, keras.Model))
    fresh = keras.applications.MobileNetV2(include_top=False, weights=None, input_shape=(32, 32, 3))
    assert backbone.trainable_weights == [] and len(backbone.weights) == len(fresh.weights)
    # only the head's Dense layer trains (the summary unit test checks the printed counts)
    assert [w.path for w in model.trainable_weights] == ["dense_2/kernel", "dense_2/bias"]
    assert model.get_layer("preprocess_input").mode == "tf"

    cli("evaluate", f"run={run}", "data.split=test")
    report = json.loads((run / "eval" / "test.json").read_text())  # reloaded by the CLI
    assert report["num_samples"] == 32 and 0 <= report["accuracy"] <= 1
