"""The command line itself: help without TensorFlow, unknown commands, argument splitting."""

import subprocess
import sys

import pytest

from cnnkit.commands.common import split_named_args
from cnnkit.errors import ConfigError


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("argv", [["--help"], ["train", "--help"], ["summary", "-h"],
                                  ["evaluate", "--help"], ["predict", "--help"]])
def test_help_does_not_import_tensorflow(argv):
    code = (
        "import sys\nfrom cnnkit.cli import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'TF imported'\n"
        "print('OK')\n"
    )
    result = run_python(code)
    assert result.returncode == 0, result.stderr
    assert "usage: cnnkit" in result.stdout and "OK" in result.stdout


def test_unknown_command_suggests_the_closest():
    result = run_python("from cnnkit.cli import main\nmain(['trian'])")
    assert result.returncode == 2
    assert "Did you mean: train" in result.stderr


def test_split_named_args_requires_each_named_argument():
    values, rest = split_named_args(["run=r", "data.split=val"], {"run": "the run"}, "usage")
    assert values == {"run": "r"} and rest == ["data.split=val"]
    with pytest.raises(ConfigError, match=r"missing `input=` an image.*Usage: u"):
        split_named_args(["run=r"], {"run": "x", "input": "an image"}, "u")


def test_train_help_lists_the_shipped_presets():
    result = run_python("from cnnkit.cli import main\nmain(['train', '--help'])")
    assert result.returncode == 0
    assert "model=" in result.stdout and "vgg16" in result.stdout and "resnet50" in result.stdout
    assert "conf=" in result.stdout and "shapes_segmentation" in result.stdout
