"""Packages are found automatically; conf/ is added as the `cnnkit.conf` package (YAML presets)
and each of its preset folders as a sub-package, so setuptools ships them without warnings."""

from pathlib import Path

from setuptools import find_packages, setup

PRESET_GROUPS = sorted(p.name for p in Path(__file__).parent.joinpath("conf").iterdir() if p.is_dir()
                       and not p.name.startswith(("_", ".")))

setup(
    packages=[*find_packages(include=["cnnkit", "cnnkit.*"]), "cnnkit.conf",
              *(f"cnnkit.conf.{group}" for group in PRESET_GROUPS)],
    package_dir={"cnnkit.conf": "conf"},
)
