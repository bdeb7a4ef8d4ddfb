"""What the model sees of the stored data: the size the files (or volumes) hold, the model
input, and whether training resized one to the other. Train states it before fitting, and
`Preprocessing.resized` records it so `cnnkit predict` works at the scale the model learnt (a
model trained on 1024 -> 256 images predicts at 256 and its masks are scaled back up).

Sources that read files record what the files hold in `SourceData.meta["stored"]`
(`stored_sizes`); without it the raw examples are what is stored (arrays, tfds).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STORED = "stored"


def stored_sizes(noun: str, sizes: Sequence[Sequence[int]], key: str, fit: str = "resize"
                 ) -> dict[str, Any]:
    """The `meta["stored"]` entry of a source: the range of spatial sizes its files hold, and
    how they are brought to one raw shape (`fit` resize or crop, set by the config `key`)."""
    return {"noun": noun, "min": [int(min(axis)) for axis in zip(*sizes, strict=True)],
            "max": [int(max(axis)) for axis in zip(*sizes, strict=True)], "fit": fit,
            "key": key}


def resizes(source: Any, raw_shape: Sequence[int], target_shape: Sequence[int]) -> bool:
    """Whether training scales what the files hold: the source resized them to the raw shape
    (`data.image_size`, `data.shape`) or the pipeline resizes raw examples to the model's
    input (`model.input_shape`). Cropping keeps the scale."""
    raw = [int(n) for n in raw_shape[:-1]]
    stored = source.meta.get(STORED)
    return [int(n) for n in target_shape[:-1]] != raw or (
        _reshaped(stored, raw) and stored["fit"] == "resize")


def _reshaped(stored: dict[str, Any] | None, raw: list[int]) -> bool:
    """Whether some stored file differs in size from the raw shape the source gives."""
    return stored is not None and (raw != stored["min"] or raw != stored["max"])


def _extent(low: Sequence[int], high: Sequence[int]) -> str:
    """`1024×1024`, or per-axis ranges `480–1024 × 512–1024` when sizes differ."""
    if list(low) == list(high):
        return "×".join(map(str, low))
    return " × ".join(str(a) if a == b else f"{a}–{b}" for a, b in zip(low, high, strict=True))


def describe_input(source: Any, preprocessing: Any) -> str:
    """One line: what the files hold, the model input, and the keys that resize one to the
    other, e.g. `images 1024×1024 → model input 256×256 (data.image_size)`."""
    raw = [int(n) for n in preprocessing.raw_shape[:-1]]
    target = [int(n) for n in preprocessing.target_shape[:-1]]
    stored = source.meta.get(STORED)
    noun, low, high = (stored["noun"], stored["min"], stored["max"]) if stored else (
        "examples", raw, raw)
    why = [stored["key"]] if _reshaped(stored, raw) else []
    patch = getattr(preprocessing, "patch_shape", None)
    if patch:  # cut, not resized: the model sees the frames' own scale
        frames = (f"{noun} {_extent(low, high)} → {_extent(raw, raw)} ({', '.join(why)})"
                  if why else f"{noun} {_extent(low, high)} at their own size")
        return f"{frames}, model input {_extent(patch, patch)} patches (data.patch_size)"
    if target != raw:
        why.append("model.input_shape")
    if not why:
        return f"{noun} {_extent(low, high)}, model input {_extent(target, target)} (not resized)"
    return f"{noun} {_extent(low, high)} → model input {_extent(target, target)} ({', '.join(why)})"
