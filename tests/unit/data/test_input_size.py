"""The line train prints about the data's size, and whether training resized the files."""

from __future__ import annotations

from types import SimpleNamespace

from cnnkit.data.input_size import describe_input, resizes, stored_sizes
from cnnkit.data.pipeline import Preprocessing


def source(*sizes, fit="resize", key="data.image_size", noun="images"):
    return SimpleNamespace(meta={"stored": stored_sizes(noun, sizes, key, fit)} if sizes else {})


def prep(raw, target):
    return Preprocessing(raw_shape=[*raw, 1], target_shape=[*target, 1], value_max=255.0)


def test_resized_files_and_mixed_sizes_are_stated_with_the_key():
    files = source((1024, 1024))
    assert describe_input(files, prep((256, 256), (256, 256))) == \
        "images 1024×1024 → model input 256×256 (data.image_size)"
    mixed = source((480, 1024), (1024, 512), (700, 700))
    assert describe_input(mixed, prep((256, 256), (128, 128))) == \
        "images 480–1024 × 512–1024 → model input 128×128 (data.image_size, model.input_shape)"
    assert resizes(files, [256, 256, 1], [256, 256, 1]) and resizes(mixed, [256, 256, 1],
                                                                    [256, 256, 1])


def test_files_at_the_model_size_and_crops_keep_their_scale():
    same = source((28, 28))
    assert describe_input(same, prep((28, 28), (28, 28))) == \
        "images 28×28, model input 28×28 (not resized)"
    assert not resizes(same, [28, 28, 1], [28, 28, 1])
    crop = source((40, 48, 30), fit="crop", key="data.shape, centre crop/pad", noun="volumes")
    assert describe_input(crop, prep((32, 32, 32), (32, 32, 32))) == \
        "volumes 40×48×30 → model input 32×32×32 (data.shape, centre crop/pad)"
    assert not resizes(crop, [32, 32, 32, 1], [32, 32, 32, 1])


def test_arrays_are_resized_only_by_the_model_input():
    assert describe_input(source(), prep((8, 8), (16, 16))) == \
        "examples 8×8 → model input 16×16 (model.input_shape)"
    assert resizes(source(), [8, 8, 1], [16, 16, 1]) and not resizes(source(), [8, 8, 1], [8, 8, 1])


def test_patches_are_named_as_cut_from_frames_at_their_own_scale():
    patched = Preprocessing(raw_shape=[512, 512, 1], target_shape=[128, 128, 1], value_max=255.0,
                            patch_shape=[128, 128])
    assert describe_input(source((512, 512)), patched) == \
        "images 512×512 at their own size, model input 128×128 patches (data.patch_size)"
    assert describe_input(source((1024, 1024)), patched) == \
        "images 1024×1024 → 512×512 (data.image_size), model input 128×128 patches (data.patch_size)"
