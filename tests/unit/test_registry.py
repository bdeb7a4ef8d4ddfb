import pytest

from cnnkit.errors import ConfigError, closest
from cnnkit.registry import Registry


def test_registry_returns_registered_object_and_lists_by_pattern():
    reg: Registry[int] = Registry("thing", "x.name")
    reg.register("resnet50")(50)
    reg.register("resnet18")(18)
    reg.register("vgg16")(16)
    assert reg.get("vgg16") == 16
    assert reg.list("resnet*") == ["resnet18", "resnet50"]
    assert "vgg16" in reg


def test_unknown_name_names_the_key_and_suggests_the_closest():
    reg: Registry[int] = Registry("thing", "x.name")
    reg.register("resnet50")(50)
    with pytest.raises(ConfigError, match=r"`x.name`.*'resnt50'.*Did you mean: resnet50"):
        reg.get("resnt50")


def test_registering_twice_is_a_programming_error():
    reg: Registry[int] = Registry("thing", "x.name")
    reg.register("a")(1)
    with pytest.raises(ValueError, match="twice"):
        reg.register("a")(2)


def test_closest_is_case_insensitive():
    assert closest("conv2dd", ["Conv2D", "Dense"])[0] == "Conv2D"
