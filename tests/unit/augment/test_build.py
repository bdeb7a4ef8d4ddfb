"""Building an augmentation from config: errors name the full key, incompatible targets are
refused, and none of it imports TensorFlow."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from cnnkit.augment import build_augmentation
from cnnkit.errors import ConfigError
from tests.unit.augment.cases import CONF


def test_boxes_refuse_transforms_that_cannot_move_them() -> None:
    with pytest.raises(ConfigError, match=r"augment.transforms\[1\].name.*rotation cannot move box"):
        build_augmentation({"transforms": [{"name": "flip"}, {"name": "rotation"}]}, "boxes", 0)


def test_no_transforms_means_no_augmentation() -> None:
    assert build_augmentation({"transforms": []}, "label", 0) is None
    assert build_augmentation(None, "mask", 0) is None


@pytest.mark.parametrize(
    ("cfg", "kind", "match"),
    [
        ({"transforms": [{"name": "flip"}, {"name": "zoom"}, {"name": "rotaton"}]}, "label",
         r"`augment.transforms\[2\].name` names an unknown augmentation transform. Received: "
         r"'rotaton'.*Did you mean: rotation"),
        ({"transforms": [{"name": "rotation", "degres": 3}]}, "label",
         r"`augment.transforms\[0\].degres` is not a parameter of rotation.*Did you mean: degrees"),
        ({"transforms": [{"name": "flip", "p": 1.5}]}, "label",
         r"`augment.transforms\[0\].p` must be a probability in \[0, 1\]. Received: 1.5"),
        ({"transforms": [{"name": "zoom", "scale": [1.2, 0.8]}]}, "label",
         r"`augment.transforms\[0\].scale` must be a range with low <= high"),
        ({"transforms": [{"name": "affine", "fill_mode": "mirror"}]}, "label",
         r"`augment.transforms\[0\].fill_mode` must be one of reflect, constant, nearest, wrap"),
        ({"transforms": ["flip"]}, "label", r"`augment.transforms\[0\]` must be a mapping with a `name`"),
        ({"transform": []}, "label", r"`augment.transform` is not an augment setting.*transforms"),
        ({"where": "gpu", "transforms": []}, "label", r"`augment.where` must be one of pipeline, model"),
        ({"transforms": [{"name": "mixup"}]}, "mask", r"mixup mixes class labels; .* are mask"),
        ({"where": "model", "transforms": [{"name": "cutout"}]}, "label",
         r"`augment.transforms\[0\].name`: cutout runs in the input pipeline only"),
    ],
)
def test_config_errors_name_the_key(cfg: dict, kind: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        build_augmentation(cfg, kind, 0)


# Each bad config and what its error must say; the subprocess below builds them without TF.
BAD = {
    "misspelled transform": (
        {"transforms": [{"name": "horizontal_flipp"}]},
        r"`augment.transforms\[0\].name` names an unknown augmentation transform.*"
        r"Did you mean: horizontal_flip"),
    "unknown parameter": (
        {"transforms": [{"name": "flip"}, {"name": "zoom"}, {"name": "affine", "degres": 3}]},
        r"`augment.transforms\[2\].degres` is not a parameter of affine.*Did you mean: degrees"),
    "range": (
        {"transforms": [{"name": "flip"}, {"name": "zoom"}, {"name": "rotation", "degrees": [40, 10]}]},
        r"`augment.transforms\[2\].degrees` must be a range with low <= high. Received: \[40, 10\]"),
    "fill_mode": (
        {"transforms": [{"name": "affine", "fill_mode": "reflekt"}]},
        r"`augment.transforms\[0\].fill_mode` must be one of reflect, constant, nearest, wrap. "
        r"Received: 'reflekt' Did you mean: reflect"),
    "interpolation": (
        {"transforms": [{"name": "elastic", "interpolation": "bilinar"}]},
        r"`augment.transforms\[0\].interpolation` must be one of bilinear, nearest. "
        r"Received: 'bilinar' Did you mean: bilinear"),
    "probability": (
        {"transforms": [{"name": "gamma", "p": -0.1}]},
        r"`augment.transforms\[0\].p` must be a probability in \[0, 1\]"),
    "rotation plane": (
        {"transforms": [{"name": "rotate90", "axes": [1, 1]}]},
        r"`augment.transforms\[0\].axes` must name two different spatial axes"),
}

BUILD_WITHOUT_TENSORFLOW = f"""
import json, sys
import yaml
from cnnkit.augment import build_augmentation
from cnnkit.errors import ConfigError

def tensorflow_imported():
    return any(name == "tensorflow" or name.startswith(("tensorflow.", "keras"))
               for name in sys.modules)

strong = yaml.safe_load(open({str(CONF / "strong.yaml")!r}).read())
strong["transforms"] += [{{"name": "random_resized_crop"}}, {{"name": "vertical_flip"}}]
built = len(build_augmentation(strong, "mask", 0).transforms)
errors = {{}}
for case, cfg in {{k: cfg for k, (cfg, _) in BAD.items()}}.items():
    try:
        build_augmentation(cfg, "mask", 0)
    except ConfigError as error:
        errors[case] = str(error)
print(json.dumps({{"built": built, "errors": errors, "tensorflow": tensorflow_imported()}}))
"""


@pytest.fixture(scope="module")
def built_without_tensorflow() -> dict:
    code = f"BAD = {BAD!r}\n{BUILD_WITHOUT_TENSORFLOW}"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_building_and_validating_never_import_tensorflow(built_without_tensorflow: dict) -> None:
    """A TF-free validation pass can build the augmentation and see every config error."""
    assert built_without_tensorflow["built"] == 12
    assert set(built_without_tensorflow["errors"]) == set(BAD)
    assert built_without_tensorflow["tensorflow"] is False


@pytest.mark.parametrize("case", list(BAD))
def test_config_errors_surface_when_building(built_without_tensorflow: dict, case: str) -> None:
    assert re.search(BAD[case][1], built_without_tensorflow["errors"][case])
