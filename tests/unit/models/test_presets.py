"""The model presets in conf/model/, each checked against its reference parameter count:
keras.applications where it has the model, otherwise a count derived here by hand."""

from __future__ import annotations

import gc

import keras
import pytest

from cnnkit.config.compose import compose, preset_names
from cnnkit.models.build import build_model
from cnnkit.models.summary import summarize

IMAGENET = ["model.input_shape=[224,224,3]", "model.num_classes=1000"]


def build(preset: str, *overrides: str):
    cfg = compose("train", [f"model={preset}", *overrides])
    return build_model(cfg.model)


def conv(k: int, cin: int, cout: int, bias: bool = True) -> int:
    """Parameters of a convolution with a k-element kernel window."""
    return k * cin * cout + (cout if bias else 0)


def bn(c: int) -> int:
    """Keras batch norm: gamma, beta (trainable), moving mean and variance (not trainable)."""
    return 4 * c


def assert_same_count(model, reference) -> None:
    assert model.count_params() == reference.count_params()
    assert summarize(model)["total_params"] == reference.count_params()


def test_resnet50_equals_keras_applications():
    model = build("resnet50", *IMAGENET)
    assert model.count_params() == 25_636_712
    assert_same_count(model, keras.applications.ResNet50(weights=None))


def test_densenet_with_densenet121_settings_equals_keras_applications():
    model = build("densenet", *IMAGENET, "model.growth_rate=32", "model.stem_filters=64")
    assert_same_count(model, keras.applications.DenseNet121(weights=None))
    assert model.get_layer("transition1.compress.conv").output.shape[-1] == 128  # (64 + 6*32) / 2


def resnet_trainable(stages: list[int], classes: int = 1000) -> int:
    """Trainable parameters of a basic-block ResNet (He et al. 2016) without conv biases, BN's
    gamma/beta counted: what torchvision reports (resnet18 11,689,512; resnet34 21,797,672)."""
    total = conv(49, 3, 64, bias=False) + 2 * 64  # 7x7 stem + BN
    cin = 64
    for width, units in zip([64, 128, 256, 512], stages, strict=True):
        for _ in range(units):
            total += conv(9, cin, width, False) + 2 * width + conv(9, width, width, False) + 2 * width
            if cin != width:  # first unit of stages 2-4: strided 1x1 projection + BN
                total += conv(1, cin, width, False) + 2 * width
            cin = width
    return total + 512 * classes + classes  # softmax layer


@pytest.mark.parametrize("preset, stages, torchvision", [
    ("resnet18", [2, 2, 2, 2], 11_689_512), ("resnet34", [3, 4, 6, 3], 21_797_672)])
def test_basic_block_resnets(preset, stages, torchvision):
    model = build(preset, *IMAGENET)
    assert resnet_trainable(stages) == torchvision
    counts = summarize(model)
    assert counts["trainable_params"] == torchvision
    assert counts["non_trainable_params"] == (counts["total_params"] - torchvision)  # BN statistics


@pytest.mark.parametrize("overrides, after_stem", [
    (["model.input_shape=[28,28,1]"], [28, 28]),  # auto: small stem below 64 pixels
    (["model.input_shape=[28,28,1]", "model.stem=imagenet"], [7, 7]),
    (["model.input_shape=[64,64,3]"], [16, 16]),  # auto: the ImageNet stem from 64 pixels
    (["model.input_shape=[16,16,16,1]"], [16, 16, 16]),  # 3D: the same choice
])
def test_resnet_stem_fits_small_inputs(overrides, after_stem):
    cfg = compose("train", ["model=resnet18", "model.num_classes=10", *overrides])
    model = build_model(cfg.model)
    first_stage = model.get_layer("conv2.block1.conv1.conv")
    assert list(first_stage.input.shape[1:-1]) == after_stem
    assert cfg.model.stem in ("small", "imagenet")  # auto is resolved in the config, which is saved


def wrn_trainable(units: int, widen: int, classes: int = 10) -> int:
    """Trainable parameters of WRN-(6*units+4)-widen: bias-free convolutions, BN gamma/beta."""
    total, cin = conv(9, 3, 16, bias=False), 16
    for width in (16 * widen, 32 * widen, 64 * widen):
        for unit in range(units):
            total += 2 * cin + conv(9, cin, width, False) + 2 * width + conv(9, width, width, False)
            total += conv(1, cin, width, False) if unit == 0 else 0  # the projection unit
            cin = width
    return total + 2 * cin + cin * classes + classes  # final BN, softmax layer


def test_wide_resnet_28_10_has_the_papers_parameter_count():
    model = build("wide_resnet", "model.input_shape=[32,32,3]", "model.num_classes=10",
                  "model.units=4", "model.widen=10")
    assert summarize(model)["trainable_params"] == wrn_trainable(4, 10) == 36_479_194
    default = build("wide_resnet", "model.input_shape=[32,32,3]", "model.num_classes=10")
    assert summarize(default)["trainable_params"] == wrn_trainable(2, 4)  # WRN-16-4
    assert default.get_layer("group3.unit1.conv1").output.shape[1:3] == (8, 8)


def test_an_unknown_stem_is_refused():
    from cnnkit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"`model.stem` must be one of auto, imagenet, small.*'tiny'"):
        build("resnet18", "model.input_shape=[28,28,1]", "model.num_classes=10", "model.stem=tiny")


def test_inception_equals_googlenet_table_1():
    # Szegedy et al. 2015, Table 1: (input channels, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5,
    # pool proj) per module; every convolution has a bias.
    modules = [(192, 64, 96, 128, 16, 32, 32), (256, 128, 128, 192, 32, 96, 64),
               (480, 192, 96, 208, 16, 48, 64), (512, 160, 112, 224, 24, 64, 64),
               (512, 128, 128, 256, 24, 64, 64), (512, 112, 144, 288, 32, 64, 64),
               (528, 256, 160, 320, 32, 128, 128), (832, 256, 160, 320, 32, 128, 128),
               (832, 384, 192, 384, 48, 128, 128)]
    expected = conv(49, 3, 64) + conv(1, 64, 64) + conv(9, 64, 192)  # stem
    for cin, f1, r3, f3, r5, f5, pp in modules:
        expected += (conv(1, cin, f1) + conv(1, cin, r3) + conv(9, r3, f3) + conv(1, cin, r5)
                     + conv(25, r5, f5) + conv(1, cin, pp))
        assert f1 + f3 + f5 + pp in (256, 480, 512, 528, 832, 1024)  # the next module's input
    expected += 1024 * 1000 + 1000
    model = build("inception", *IMAGENET)
    assert model.count_params() == expected == 6_998_552
    assert model.get_layer("inception5b.concat").output.shape == (None, 7, 7, 1024)


def unet_params(base: int, levels: int, k: int, cin: int, classes: int, up_k: int) -> int:
    """U-Net with same-padded double convolutions (k-element windows), a bridge at level `levels`,
    up-convolutions with `up_k`-element windows halving the width, and a 1x1 output."""
    def double(cin: int, c: int) -> int:
        return conv(k, cin, c) + conv(k, c, c)

    widths = [base * 2**level for level in range(levels + 1)]
    total, c = 0, cin
    for width in widths:  # encoder levels and the bridge
        total, c = total + double(c, width), width
    for width in reversed(widths[:-1]):  # decoder: up-conv, concatenate the skip, double conv
        total += conv(up_k, c, width) + double(2 * width, width)
        c = width
    return total + conv(1, c, classes)


def test_unet_matches_ronneberger_count_and_upsampling_choices():
    expected = unet_params(64, 4, 9, 1, 2, up_k=4)
    assert expected == 31_030_658
    transpose = build("unet", "model.num_classes=2")
    assert transpose.count_params() == expected
    assert transpose.get_layer("dec1.concat").output.shape == (None, 32, 32, 128)  # skip + up
    # resize-convolution: UpSampling + 2x2 conv has the same weights as the 2x2 up-convolution
    resize = build("unet", "model.num_classes=2", "model.upsampling=resize")
    assert resize.count_params() == expected
    assert type(resize.get_layer("dec1.up.upsample")).__name__ == "UpSampling2D"


def test_unet_shrinks_for_quick_runs():
    model = build("unet", "model.num_classes=1", "model.base_filters=4")
    assert model.count_params() == unet_params(4, 4, 9, 1, 1, up_k=4)


def test_unet3d_is_the_unet_at_rank_3():
    model = build("unet3d", "model.num_classes=2")
    assert model.count_params() == unet_params(32, 3, 27, 1, 2, up_k=8) == 5_599_746
    types = {type(layer).__name__ for layer in model.layers}
    assert {"Conv3D", "MaxPooling3D", "Conv3DTranspose"} <= types
    assert model.output.shape == (None, 16, 16, 16, 2)


def test_autoencoder_mirrors_its_encoder():
    model = build("autoencoder", "model.input_shape=[32,32,1]", "model.num_classes=1")
    # enc 3x3 1->16, 16->16; code 16->8; transposed 8->16, 16->16; output 16->1
    expected = conv(9, 1, 16) + conv(9, 16, 16) + conv(9, 16, 8) + conv(9, 8, 16) + conv(9, 16, 16) + conv(9, 16, 1)
    assert model.count_params() == expected == 7_273
    assert model.get_layer("code").output.shape == (None, 8, 8, 8)
    assert model.output.shape == (None, 32, 32, 1)


def test_cnn1d_and_cnn3d_share_blocks_at_different_ranks():
    one = build("cnn1d", "model.num_classes=3")
    # Conv1D k15 1->16, k9 16->32, k5 32->64 without bias, each with BN; softmax 64->3
    assert one.count_params() == (conv(15, 1, 16, False) + bn(16) + conv(9, 16, 32, False) + bn(32)
                                  + conv(5, 32, 64, False) + bn(64) + 64 * 3 + 3) == 15_731
    three = build("cnn3d", "model.num_classes=5")
    assert three.count_params() == (conv(27, 1, 8, False) + bn(8) + conv(27, 8, 16, False) + bn(16)
                                    + conv(27, 16, 32, False) + bn(32) + 32 * 5 + 5) == 17_885
    assert type(one.get_layer("conv1.conv")).__name__ == "Conv1D"
    assert type(three.get_layer("conv1.conv")).__name__ == "Conv3D"


def test_lenet5_paper_count():
    assert build("lenet5", "model.num_classes=10").count_params() == 61_706


# Presets without an input_shape of their own, as `cnnkit summary model=NAME` builds them on the
# default data (8x8x1 digits): the strided stems and poolings must not run out of pixels. The
# others are built at their own input_shape by the tests above. DenseNet keeps its strides and
# poolings with one layer per dense block (its 121 layers take long to build).
DATA_SIZED = {"default": [], "resnet18": [], "inception": [], "autoencoder": [], "wide_resnet": [],
              "densenet": ["model.dense_layers=[1,1,1,1]"]}


@pytest.mark.parametrize("preset", DATA_SIZED)
def test_presets_build_at_the_default_data_size(preset):
    assert compose("train", [f"model={preset}"]).model.input_shape is None
    model = build(preset, "model.input_shape=[8,8,1]", "model.num_classes=10", *DATA_SIZED[preset])
    assert summarize(model)["flops"] > 0
    assert model.output.shape[-1] == 10


def test_every_preset_is_tested():
    tested = {*DATA_SIZED, "lenet5", "resnet34", "resnet50", "unet", "unet3d", "cnn1d", "cnn3d",
              "alexnet", "vgg16", "vgg19", "backbone", "vgg_small",
              "dcgan", "dcgan3d", "vae",  # the generative ones: test_generative.py
              "auto"}  # chosen from the data: tests/unit/commands/test_plan.py
    assert set(preset_names("model")) <= tested


@pytest.mark.slow
def test_alexnet_paper_count():
    # 227x227x3 -> conv1 11x11/4: 55 -> pool 27 -> conv2 27 -> pool 13 -> conv3-5 13 -> pool 6
    expected = (conv(121, 3, 96) + conv(25, 48, 256) + conv(9, 256, 384)  # conv2: 2 groups of 48
                + conv(9, 192, 384) + conv(9, 192, 256)  # conv4, conv5: 2 groups of 192
                + 6 * 6 * 256 * 4096 + 4096 + 4096 * 4096 + 4096 + 4096 * 1000 + 1000)
    assert build("alexnet", "model.num_classes=1000").count_params() == expected == 60_965_224


@pytest.mark.slow
@pytest.mark.parametrize("preset, reference, paper_macs", [
    ("vgg16", "VGG16", 15.47e9), ("vgg19", "VGG19", 19.63e9)])
def test_vgg_equals_keras_applications(preset, reference, paper_macs):
    model = build(preset, "model.num_classes=1000")
    counts = summarize(model)
    del model
    gc.collect()
    keras.backend.clear_session()
    expected = getattr(keras.applications, reference)(weights=None).count_params()
    assert counts["total_params"] == expected == {"vgg16": 138_357_544, "vgg19": 143_667_240}[preset]
    assert counts["flops"] == pytest.approx(2 * paper_macs, rel=0.01)  # 2 FLOPs per multiply-add


def test_vgg_small_of_the_recipes_has_its_hand_count():
    model = build("vgg_small", "model.input_shape=[28,28,1]", "model.num_classes=10")
    stages = [(1, 32), (32, 32), (32, 64), (64, 64), (64, 128), (128, 128)]
    assert model.count_params() == sum(conv(9, cin, cout, bias=False) + bn(cout)
                                       for cin, cout in stages) + 128 * 10 + 10 == 289_066


def test_vgg_small_depths_set_the_units_per_stage():
    model = build("vgg_small", "model.input_shape=[28,28,1]", "model.num_classes=10",
                  "model.depths=[1,2,1]")
    stages = [(1, 32), (32, 64), (64, 64), (64, 128)]
    assert model.count_params() == sum(conv(9, cin, cout, bias=False) + bn(cout)
                                       for cin, cout in stages) + 128 * 10 + 10
