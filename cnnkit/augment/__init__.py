"""Augmentation: transforms in 1D/2D/3D that move masks and boxes with the image.

`build_augmentation(augment_cfg, target_kind, seed)` turns the `augment` config group (a list of
transforms, each `{name, p, **parameters}`) into an `Augmentation`:

- geometric transforms (`flips`, `warps`) draw ONE set of random parameters per example and apply
  it to the input and to every spatial target: masks with nearest neighbour, clean "image"
  targets like the input; normalised boxes move with flips and 90-degree rotations;
- intensity transforms (`intensity`) change the input only;
- mixup and cutmix (`mixing`) mix whole batches of one-hot labels (`needs_one_hot`).

Every transform works on a batch with per-example random parameters, so the pipeline augments
whole batches (one op launch per transform instead of one per example); one example is a batch of
one. All randomness is stateless (`random`): parameters are a function of (seed, transform index),
and the pipeline draws one seed per batch from a seeded stream, so a run is reproducible.

Importing the package and building an augmentation never import TensorFlow (modules name it
through `cnnkit.lazy`); only applying transforms to tensors does.
"""

# The transform modules register their transforms in TRANSFORMS when imported.
from cnnkit.augment import flips, intensity, mixing, warps  # noqa: F401
from cnnkit.augment.base import TRANSFORMS
from cnnkit.augment.build import build_augmentation, needs_one_hot
from cnnkit.augment.composition import Augmentation
from cnnkit.augment.sampling import resize_spatial

__all__ = [
    "TRANSFORMS",
    "Augmentation",
    "build_augmentation",
    "needs_one_hot",
    "resize_spatial",
]
