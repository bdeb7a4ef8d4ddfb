"""Prediction writers: a task's table or images land in the files its output kind names."""

from __future__ import annotations

import csv

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from cnnkit.io.image_files import InputInfo
from cnnkit.io.predictions import WRITERS, write_predictions, write_table
from cnnkit.tasks import TASKS, get_task, load_task_modules
from cnnkit.tasks.base import PredictionTable


def test_a_table_is_a_csv_with_its_header_and_formatted_floats(tmp_path):
    table = PredictionTable(["id", "label", "p"], [["a", "cat", np.float32(0.25)], ["b", "", 1.0]],
                            float_format=".3f")
    write_table(tmp_path / "t.csv", table)
    with open(tmp_path / "t.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["id", "label", "p"], ["a", "cat", "0.250"], ["b", "", "1.000"]]


def test_classification_writes_the_class_and_one_probability_column_per_class(tmp_path):
    task = get_task(OmegaConf.create({"name": "classification"}))
    probs = np.array([[0.1, 0.9], [0.8, 0.2]], "float32")
    write_predictions(task, probs, ["x.png", "y.png"], ["cat", "dog"], tmp_path / "p.csv")
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines == ["id,prediction,prob_cat,prob_dog", "x.png,dog,0.100000,0.900000",
                     "y.png,cat,0.800000,0.200000"]


def test_reconstructions_are_pngs_named_after_their_inputs(tmp_path):
    task = get_task(OmegaConf.create({"name": "reconstruction", "max_val": 1.0}))
    image = np.full((3, 4, 1), 0.5, "float32")
    write_predictions(task, [image], ["d/a.jpg"], None, tmp_path, [InputInfo("d/a.jpg", (3, 4))])
    written = np.asarray(Image.open(tmp_path / "d" / "a.png"))
    assert written.shape == (3, 4) and int(written[0, 0]) == 128


def test_images_need_one_input_info_per_output(tmp_path):
    task = get_task(OmegaConf.create({"name": "reconstruction"}))
    with pytest.raises(ValueError):
        write_predictions(task, [np.zeros((3, 4, 1), "float32")], ["a"], None, tmp_path, [])


def test_every_task_has_a_writer_for_its_output_kind():
    load_task_modules()
    kinds = {TASKS.get(name).output_kind for name in TASKS.list()}
    assert kinds <= set(WRITERS)


def test_image_outputs_need_a_folder_name_and_tables_a_file(tmp_path):
    from cnnkit.errors import ConfigError
    from cnnkit.io.predictions import check_output_folder

    segmentation = get_task(OmegaConf.create({"name": "segmentation"}))
    for name in ("masks.csv", "out/masks.png", "m.nii.gz"):
        with pytest.raises(ConfigError, match=r"writes one file per input into a folder.*"
                                              r"Expected a folder name, e\.g\. output="):
            check_output_folder(segmentation, tmp_path / name)
    check_output_folder(segmentation, tmp_path / "masks")
    check_output_folder(get_task(OmegaConf.create({"name": "classification"})), tmp_path / "p.csv")


def test_multiclass_masks_are_palette_pngs_of_class_indices_with_a_summary(tmp_path):
    from cnnkit.io.predictions import write_summary

    task = get_task(OmegaConf.create({"name": "segmentation", "classes": ["bg", "cell", "edge"]}))
    probs = np.zeros((2, 4, 3), "float32")
    probs[..., 0], probs[0, :2, 1], probs[1, :, 2] = 0.5, 0.9, 0.9  # 2 cell, 4 edge, 2 bg
    info = InputInfo("a/b/x.png", (2, 4))
    summary = write_predictions(task, [probs], [info.id], None, tmp_path, [info])
    written = Image.open(tmp_path / "a" / "b" / "x.png")
    assert written.mode == "P" and np.asarray(written).tolist() == [[1, 1, 0, 0], [2, 2, 2, 2]]
    assert written.convert("RGB").getpixel((0, 1)) != written.convert("RGB").getpixel((0, 0))
    write_summary(tmp_path, [summary, summary])  # two chunks of inputs, one file
    rows = list(csv.reader((tmp_path / "summary.csv").read_text().splitlines()))
    assert rows[0] == ["id", "height", "width", "pixels_bg", "pixels_cell", "pixels_edge",
                       "fraction_bg", "fraction_cell", "fraction_edge"]
    assert rows[1] == ["a/b/x.png", "2", "4", "2", "2", "4", "0.250000", "0.250000", "0.500000"]
    assert len(rows) == 3


def test_binary_masks_stay_gray_0_255(tmp_path):
    task = get_task(OmegaConf.create({"name": "segmentation"}))
    probs = np.array([[[0.9], [0.1]]], "float32")
    summary = write_predictions(task, [probs], ["x.jpg"], None, tmp_path,
                                [InputInfo("x.jpg", (1, 2))])
    written = Image.open(tmp_path / "x.png")
    assert written.mode == "L" and np.asarray(written).tolist() == [[255, 0]]
    assert summary.rows == [["x.jpg", 1, 2, 1, 1, 0.5, 0.5]]
