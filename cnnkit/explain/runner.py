"""One `cnnkit explain` call: the inputs through the chosen method, pictures and index.json out.

`Subject` holds what every method needs (model, task, preprocessing, inputs in model and display
units, predictions); each method writes its files and returns the index entries.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnkit.errors import ConfigError
from cnnkit.explain import attribution, features, layers
from cnnkit.explain.targets import Target, choose_target, linear_outputs, score
from cnnkit.io import explain_figures as figures
from cnnkit.io.image_files import save_npy
from cnnkit.io.rundir import write_json
from cnnkit.tasks.base import preprocess_batch


@dataclass
class Subject:
    model: Any
    task: Any
    preprocessing: Any
    raw: Any  # raw inputs (an array batch or a list)
    ids: list[str]
    options: dict[str, Any]  # the checked `explain` section
    folder: Path
    labels: list[str] | None = None  # true labels where known (a split)
    affines: list[Any] = field(default_factory=list)  # NIfTI inputs' affines
    progress: Any = None  # callable(iterable, description) -> iterable

    def __post_init__(self) -> None:
        self.x = preprocess_batch(self.raw, self.preprocessing).astype("float32")
        self.display = np.clip(np.stack([np.asarray(self.preprocessing.scale_and_shape(r[None]))[0]
                                         for r in self.raw]), 0.0, 1.0)
        outputs = self.task.predict(self.model, self.x)
        head = self.options.get("head")
        if isinstance(outputs, dict):
            outputs = outputs[head or next(iter(outputs))]
        self.outputs = np.asarray(outputs)
        self.target: Target = choose_target(self.model, self.task, head, self.options.get("unit"),
                                            self.preprocessing.class_names)
        self.units = self._units()
        self.names = self._unit_names()

    def _units(self) -> np.ndarray:
        if self.target.unit is not None:
            return np.full(len(self.x), self.target.unit, "int32")
        if self.target.kind == "segmentation":
            labels = self.outputs.argmax(-1) if self.outputs.shape[-1] > 1 else (
                self.outputs[..., 0] > 0.5).astype(int)
            counts = [np.bincount(m.reshape(-1), minlength=2)[1:] for m in labels]
            return np.array([1 + int(np.argmax(c)) if c.sum() else 1 for c in counts], "int32")
        return self.outputs.reshape(len(self.x), -1).argmax(-1).astype("int32")

    def _unit_names(self) -> list[str]:
        if self.target.kind == "segmentation":
            classes = list(getattr(self.task, "classes", []))
        else:
            classes = list(self.preprocessing.class_names or [])
        return [classes[u] if 0 <= u < len(classes) else str(u) for u in self.units]

    def unit_score(self, i: int) -> float:
        flat = self.outputs[i].reshape(-1) if self.target.kind != "segmentation" else None
        if flat is None:
            return float("nan")
        return float(flat[self.units[i]] if flat.size > 1 else flat[0])

    def baseline(self) -> np.ndarray:
        """A black input in model units (0 before standardisation)."""
        zeros = np.zeros((1, *self.x.shape[1:]), "float32")
        return np.broadcast_to(np.asarray(self.preprocessing.normalize_fn(zeros)), self.x.shape)

    def batches(self, description: str) -> Any:
        size = int(self.options["batch"])
        starts = range(0, len(self.x), size)
        chunks = ((s, slice(s, s + size)) for s in starts)
        return self.progress(list(chunks), description) if self.progress else chunks


def _title(subject: Subject, i: int, what: str) -> str:
    value = subject.unit_score(i)
    scored = "" if np.isnan(value) else f" ({value:.3f})"
    return f"{what}\nclass {subject.names[i]}{scored}"


def write_maps(subject: Subject, heat: np.ndarray, method: str, layer: str | None) -> list[dict]:
    """One overlay per input (3D: slices and a NIfTI heat map), heatmaps.npy, the index rows."""
    save_npy(subject.folder / "heatmaps.npy", heat.astype("float32"))
    what = method + (f" @ {layer}" if layer else "")
    rows = []
    for i, sample_id in enumerate(subject.ids):
        name = f"{sample_id}_{method.replace('+', 'plus')}"
        entry: dict[str, Any] = {"id": sample_id, "class": int(subject.units[i]),
                                 "class_name": subject.names[i], "score": subject.unit_score(i),
                                 "max": float(heat[i].max())}
        if heat[i].ndim == 3:
            entry["file"] = figures.volume_overlay(subject.display[i], heat[i], _title(
                subject, i, what), subject.folder / f"{name}.png").name
            affine = subject.affines[i] if i < len(subject.affines) else None
            entry["nifti"] = figures.nifti_heat(heat[i], affine,
                                                subject.folder / f"{name}.nii.gz").name
        else:
            entry["file"] = figures.overlay(subject.display[i], heat[i], _title(subject, i, what),
                                            subject.folder / f"{name}.png").name
        rows.append(entry)
    return rows


def gradcam(subject: Subject, plus_plus: bool) -> dict[str, Any]:
    model = subject.model
    path = layers.resolve_path(model, subject.options.get("layer") or layers.default_conv(model))
    linear_outputs(model)
    feature_model = layers.activation_model(model, path)
    heat = np.concatenate([attribution.class_activation_map(
        feature_model, subject.target, subject.x[part], subject.units[part], plus_plus)
        for _, part in subject.batches("grad-cam")])
    method = "gradcam++" if plus_plus else "gradcam"
    return {"layer": path, "items": write_maps(subject, heat, method, path)}


def saliency(subject: Subject) -> dict[str, Any]:
    options, model = subject.options, subject.model
    linear_outputs(model)
    baseline = subject.baseline()
    parts = []
    for _, part in subject.batches(f"saliency ({options['variant']})"):
        units = subject.units[part]
        parts.append(attribution.saliency(
            lambda inputs, u=units: score(subject.target, model(inputs, training=False), u),
            subject.x[part], str(options["variant"]), baseline[part], int(options["samples"]),
            float(options["noise"]), int(options["steps"])))
    heat = np.concatenate(parts)
    return {"variant": options["variant"],
            "items": write_maps(subject, heat, f"saliency_{options['variant']}", None)}


def occlusion(subject: Subject) -> dict[str, Any]:
    model, task = subject.model, subject.task
    size = min(subject.x.shape[1:-1])
    patch = int(subject.options.get("patch") or max(1, size // 8))
    stride = int(subject.options.get("stride") or max(1, patch // 2))
    if patch > size:
        raise ConfigError(f"`explain.patch` must fit the input. Received: {patch}. Expected at "
                          f"most {size}")

    def scorer(units: np.ndarray) -> Any:
        return lambda batch: np.asarray(score(
            subject.target, task.finalize(model, model(batch, training=False)), units))

    baseline = subject.baseline()
    heat = np.concatenate([attribution.occlusion(
        scorer(subject.units[part]), subject.x[part], baseline[part], patch, stride)
        for _, part in subject.batches("occlusion")])
    return {"patch": patch, "stride": stride,
            "items": write_maps(subject, heat, "occlusion", None)}


def feature_maps(subject: Subject) -> dict[str, Any]:
    model = subject.model
    path = layers.resolve_path(model, subject.options.get("layer")
                               or layers.default_conv(model, last=False))
    maps = features.activations(layers.activation_model(model, path), subject.x)
    rows = []
    for i, sample_id in enumerate(subject.ids):
        shown = maps[i]
        while shown.ndim > 3:
            shown = shown[shown.shape[0] // 2]
        if shown.ndim != 3:
            raise ConfigError(f"`layer={path}` has no spatial maps (shape {maps.shape[1:]}). "
                              "Expected a convolution or pooling layer")
        file = figures.mosaic(shown, f"feature maps of {path}: {sample_id}",
                              subject.folder / f"{sample_id}_feature_maps.png")
        rows.append({"id": sample_id, "file": file.name, "channels": int(maps.shape[-1])})
    return {"layer": path, "items": rows}


def filters(subject: Subject) -> dict[str, Any]:
    model = subject.model
    path = layers.resolve_path(model, subject.options.get("layer")
                               or layers.default_conv(model, last=False))
    kernels = features.first_filters(layers.find_layer(model, path))
    if kernels.ndim != 4:
        raise ConfigError(f"`layer={path}`: filters are drawn for 2D convolutions. Received "
                          f"kernels of shape {kernels.shape[1:]}")
    file = figures.filter_grid(kernels, f"{len(kernels)} filters of {path}",
                               subject.folder / "filters.png")
    save_npy(subject.folder / "filters.npy", kernels)
    return {"layer": path, "items": [{"file": file.name, "filters": int(len(kernels))}]}


def top_activations(subject: Subject) -> dict[str, Any]:
    import tensorflow as tf

    from cnnkit.data.pipeline import resize_to

    model, options = subject.model, subject.options
    path = layers.resolve_path(model, options.get("layer") or layers.default_conv(model))
    maps = features.activations(layers.activation_model(model, path), subject.x)
    best = features.top_activating(maps, list(options["channels"]), int(options["top"]))
    rows: dict[int, list[Any]] = {}
    for channel, index in best.items():
        heat = np.asarray(resize_to(tf.constant(maps[index][..., channel:channel + 1]),
                                    list(subject.x.shape[1:-1]), "bilinear"))[..., 0]
        rows[channel] = [(subject.display[i], h, subject.labels[i] if subject.labels
                          else subject.ids[i]) for i, h in zip(index, heat, strict=True)]
    file = figures.top_grid(rows, f"Top activations of {path}",
                            subject.folder / "top_activations.png")
    return {"layer": path, "items": [{"file": file.name, "channel": c,
                                      "inputs": [subject.ids[i] for i in index]}
                                     for c, index in best.items()]}


def embedding(subject: Subject, seed: int) -> dict[str, Any]:
    model = subject.model
    feats = np.asarray(layers.penultimate_model(model).predict(subject.x, verbose=0))
    points, perplexity = features.tsne(feats, subject.options.get("perplexity"), seed)
    known = subject.labels is not None
    labels = subject.labels if known else subject.names
    what = "true label" if known else "predicted class"
    file = figures.embedding_scatter(points, labels, f"t-SNE of the penultimate layer "
                                     f"(perplexity {perplexity:g}), coloured by {what}",
                                     subject.folder / "embedding.png")
    written = figures.write_embedding(points, feats, subject.ids, labels, subject.folder)
    return {"perplexity": perplexity, "coloured_by": what, "features": int(feats.shape[-1]),
            "items": [{"file": file.name}, *({"file": p.name} for p in written)]}


def explain(subject: Subject, method: str, seed: int = 0) -> dict[str, Any]:
    """Run `method` on the subject, write its files and index.json; returns the index."""
    runners = {"gradcam": lambda: gradcam(subject, False),
               "gradcam++": lambda: gradcam(subject, True),
               "saliency": lambda: saliency(subject), "occlusion": lambda: occlusion(subject),
               "feature_maps": lambda: feature_maps(subject), "filters": lambda: filters(subject),
               "top_activations": lambda: top_activations(subject),
               "embedding": lambda: embedding(subject, seed)}
    subject.folder.mkdir(parents=True, exist_ok=True)
    index = {"method": method, "task": subject.target.kind, "inputs": len(subject.ids),
             **runners[method]()}
    write_json(subject.folder / "index.json", index)
    return index
