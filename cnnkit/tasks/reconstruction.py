"""Image-to-image reconstruction: denoising, reconstruction from undersampled data,
super-resolution. The target is an image scaled like the input to [0, 1] (not standardised),
so PSNR and SSIM use `task.max_val: 1` and outputs are written as images directly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS
from cnnkit.tasks.base import PredictionImages, Task, print_metrics_table
from cnnkit.tasks.dense import check_output_format, predict_dense
from cnnkit.tasks.schemas import RECONSTRUCTION_LOSSES, ReconstructionSchema
from cnnkit.tasks.segmentation import set_default
from cnnkit.tasks.sliding_window import window_options

losses = lazy("cnnkit.tasks.losses")  # Keras objects: imported when first used
metrics = lazy("cnnkit.tasks.metrics")  # Keras objects: imported when first used



@TASKS.register("reconstruction", schema=ReconstructionSchema)
class Reconstruction(Task):
    name = "reconstruction"
    target_kind = "image"
    output_kind = "images"

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        """As many output channels as the target image has (that of the input by default)."""
        channels = self.option("channels") or (input_shape[-1] if input_shape else 1)
        set_default(model_cfg, "num_classes", int(channels))
        set_default(model_cfg, "output_activation", str(self.option("output_activation", "linear")))

    def target_fn(self) -> Any:
        import tensorflow as tf

        return lambda y: tf.cast(y, tf.float32)

    @property
    def max_val(self) -> float:
        return float(self.option("max_val", 1.0))

    def loss(self, model: Any) -> Any:
        name = str(self.option("loss", "l2"))
        losses.check_loss(name, RECONSTRUCTION_LOSSES, "reconstruction")
        return losses.build_loss(name, self.cfg, int(model.outputs[0].shape[-1]), False)

    def metrics(self, model: Any) -> list[Any]:
        import keras

        return [metrics.PSNR(self.max_val), metrics.SSIM(self.max_val), keras.metrics.MeanAbsoluteError(name="mae")]

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()
        }
        report["num_samples"] = int(sum(int(np.shape(y)[0]) for _, y in dataset))
        if self._inputs_comparable():  # the input itself as the prediction: what to beat
            baseline = [metrics.PSNR(self.max_val), metrics.SSIM(self.max_val)]
            for x, y in dataset:
                for metric in baseline:
                    metric.update_state(y, x)
            report["input_psnr"] = float(baseline[0].result())
            report["input_ssim"] = float(baseline[1].result())
        return report

    def _inputs_comparable(self) -> bool:
        """Inputs in the target's range (not standardised) and shape can be scored as outputs."""
        data = self.run_cfg.get("data", {}) if self.run_cfg is not None else {}
        return data.get("normalize") in ("rescale", "none") and self.option("channels") is None

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        print_metrics_table(report, console)

    def predict_samples(self, model: Any, raw_inputs: list[np.ndarray],
                        preprocessing: Any) -> list[np.ndarray]:
        return predict_dense(model, raw_inputs, preprocessing,
                             int(self.option("size_multiple", 16)), nearest=False,
                             options=window_options(self.run_cfg))

    def prediction_images(self, outputs: list[np.ndarray]) -> PredictionImages:
        """One image per input: PNG (8-bit, [0, max_val] -> [0, 255]), NIfTI or .npy (floats)."""
        fmt = check_output_format(str(self.option("output_format", "auto")))
        return PredictionImages([np.asarray(image, "float32") for image in outputs], fmt,
                                png_scale=255.0 / self.max_val)
