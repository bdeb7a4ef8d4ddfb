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
