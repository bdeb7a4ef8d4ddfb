"""Model presets through the real CLI: U-Net summaries show their skip connections, and a tiny
U-Net trains one epoch on the shapes masks."""

import json

import pytest

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("preset, conv, bottom", [("unet", "Conv2D", "dec4.concat"),
                                                  ("unet3d", "Conv3DTranspose", "dec3.concat")])
def test_unet_summaries_show_encoder_decoder_and_skips(cli, preset, conv, bottom):
    out = cli("summary", f"model={preset}", "summary.format=json").stdout  # on the default data
    rows = {row["name"]: row for row in json.loads(out[out.find("{"):])["layers"]}
    # the first level's skip joins the last decoder level; the deepest skip the first one
    assert rows["dec1.concat"]["inputs"] == ["enc1.conv2", "dec1.up.upconv"]
    assert rows[bottom]["inputs"][1].endswith(".up.upconv") and "bridge.conv2" in rows
    assert conv in {row["type"] for row in rows.values()}


def test_tiny_unet_trains_one_epoch_on_shapes_masks(cli, tmp_path):
    cli("train", "model=unet", "model.base_filters=4", "data=shapes", "task=segmentation",
        "data.target=mask", "data.num_train=64", "data.num_val=32", "data.num_test=32",
        "trainer.epochs=1", "hydra.run.dir=run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert 0.0 <= metrics["val_dice"] <= 1.0
    assert (tmp_path / "run" / "model.keras").is_file()
