"""Packages are found automatically; conf/ is added as the `cnnkit.conf` package (YAML presets)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["cnnkit", "cnnkit.*"]), "cnnkit.conf"],
    package_dir={"cnnkit.conf": "conf"},
)
