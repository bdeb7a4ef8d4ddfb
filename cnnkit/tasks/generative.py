"""What the generative tasks (gan, vae) share: drawing samples, the per-epoch grid, latent walks,
and scoring samples against real images.

Samples are images in [0, 1] in the model's input shape; `cnnkit.io.samples` writes them (a grid,
one PNG each, or an array in the data's raw units). Latent vectors come from a NumPy generator
seeded by the caller, so `cnnkit sample seed=S` and the epoch grids (always seed 0: the same
noise every epoch, so the grids show how one set of samples evolves) are reproducible. With
`task.truncation=T` they come from the normal prior truncated to [-T, T] (the truncation trick
of BigGAN; it lowered the DCGAN of fashion_gan's sample quality, see the README).

`evaluate` reports the model's losses on the split and, given a feature space (the
`task.feature_run` classifier, loaded by `cnnkit.io.feature_space`), FID and KID of
`task.eval_samples` samples against the split's images, the same for uniform noise images as
the baseline, and what the classifier sees in the samples (`sample_metrics.class_report`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.tasks.base import Task, print_metrics_table
from cnnkit.tasks.sample_metrics import class_report, feature_scores

BATCH = 256
GRID_COLUMNS = 8


def needs_model_kind(kind: str, preset: str, networks: str) -> Any:
    """The registry check of a generative task: its model is of its own kind."""

    def check(values: dict[str, Any], config: dict[str, Any]) -> None:
        got = str((config.get("model") or {}).get("kind", "spec"))
        if got != kind:
            raise ConfigError(f"`task={kind}` trains {networks}: it needs a model of kind {kind}, "
                              f"e.g. model={preset}. Received: model.kind={got}")
    return check


class Generative(Task):
    """A task whose model has `latent_dim`, `num_classes` (None: unconditional) and
    `decode(z, labels)`."""

    output_kind = "table"
    feature_space: Any = None  # set by `cnnkit.io.evaluation` from `task.feature_run`

    @property
    def feature_run(self) -> str | None:
        return self.option("feature_run")

    def loss(self, model: Any) -> Any:
        raise NotImplementedError

    def metrics(self, model: Any) -> list[Any]:
        return []  # the model logs its own losses

    def sample(self, model: Any, n: int, labels: np.ndarray | None = None,
               seed: int = 0) -> np.ndarray:
        """`n` images (N, *shape) in [0, 1]; `labels` (N,) for a conditional model (None: the
        classes in turn)."""
        rng = np.random.default_rng(seed)
        return self.decode(model, self.latent(rng, (n, model.latent_dim)),
                           self._labels(model, n, labels))

    def latent(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Latent vectors from the prior, truncated to [-T, T] when `task.truncation=T`."""
        limit = self.option("truncation")
        if limit is None:
            return rng.standard_normal(shape).astype("float32")
        from scipy.stats import truncnorm

        return truncnorm.rvs(-float(limit), float(limit), size=shape,
                             random_state=rng).astype("float32")

    def interpolate(self, model: Any, rows: int, steps: int = GRID_COLUMNS,
                    seed: int = 0) -> np.ndarray:
        """`rows` walks of `steps` images each between two random latent vectors (spherical
        interpolation, which stays where Gaussian samples lie); conditional: one class per row."""
        rng = np.random.default_rng(seed)
        ends = self.latent(rng, (2, rows, model.latent_dim)).astype("float64")
        t = np.linspace(0.0, 1.0, steps)[None, :, None]
        a, b = ends[0][:, None], ends[1][:, None]
        cos = (a * b).sum(-1, keepdims=True) / (
            np.linalg.norm(a, axis=-1, keepdims=True) * np.linalg.norm(b, axis=-1, keepdims=True))
        omega = np.arccos(np.clip(cos, -1.0, 1.0))
        z = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
        labels = None
        if model.num_classes:
            labels = np.repeat(np.arange(rows) % model.num_classes, steps)
        return self.decode(model, z.reshape(rows * steps, -1).astype("float32"), labels)

    def grid(self, model: Any) -> tuple[np.ndarray, int]:
        """The epoch grid: fixed noise (seed 0); conditional: one row per class. Returns the
        images and the number of columns."""
        size = int(self.option("grid_size", 64))
        if model.num_classes:
            columns = max(1, size // model.num_classes)
            labels = np.repeat(np.arange(model.num_classes), columns)
            return self.sample(model, len(labels), labels), columns
        return self.sample(model, size), GRID_COLUMNS

    def decode(self, model: Any, z: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        out = [np.asarray(model.decode(z[i:i + BATCH], None if labels is None
                                       else labels[i:i + BATCH].astype("int32")))
               for i in range(0, len(z), BATCH)]
        return np.concatenate(out).astype("float32")

    def _labels(self, model: Any, n: int, labels: np.ndarray | None) -> np.ndarray | None:
        if not model.num_classes:
            if labels is not None:
                raise ConfigError("`class=` asks for a class, but this run's model is not "
                                  "conditional. Expected a run trained with task.conditional=true.")
            return None
        if labels is None:
            return np.arange(n) % model.num_classes
        return np.asarray(labels, "int32")

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        if not model.compiled:  # a reloaded run: its losses need the objective, not an optimizer
            import keras

            model.compile(optimizer=keras.optimizers.Adam(), loss=self.loss(model))
        report: dict[str, Any] = {
            k: float(v) for k, v in model.evaluate(dataset, return_dict=True, verbose=0).items()}
        if self.feature_space is None:
            report["note"] = "no task.feature_run: FID, KID and the class histogram need a classifier run"
            return report
        real = np.concatenate([np.asarray(x) for x, _ in dataset])
        n = int(self.option("eval_samples", 1000))
        requested = (np.arange(n) % model.num_classes) if model.num_classes else None
        fake = self.sample(model, n, requested, seed=1)
        noise = np.random.default_rng(2).random((n, *real.shape[1:])).astype("float32")
        real_features, _ = self.feature_space.embed(real)
        fake_features, probabilities = self.feature_space.embed(fake)
        noise_features, _ = self.feature_space.embed(noise)
        report.update(num_real=len(real), num_samples=n, feature_run=self.feature_run,
                      **feature_scores(real_features, fake_features),
                      **feature_scores(real_features, noise_features, "_noise"),
                      **class_report(probabilities, requested))
        return report

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        print_metrics_table(report, console)
        if "class_histogram" in report:
            console.print(f"classes of the samples: {report['class_histogram']}")

    def predict_samples(self, model: Any, raw_inputs: Any, preprocessing: Any) -> Any:
        raise ConfigError(f"`cnnkit predict` applies a model to inputs; task={self.name} "
                          "generates them: use `cnnkit sample run=RUN n=64 output=grid.png`.")
