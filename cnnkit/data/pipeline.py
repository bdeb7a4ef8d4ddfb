"""The tf.data pipeline: decode -> preprocess -> cache -> shuffle -> augment -> batch -> prefetch.

`Preprocessing` is everything needed to turn a raw example into a model input. It is fitted on
the training split (normalisation statistics), saved to the run directory as
`preprocessing.json`, and reapplied unchanged by evaluate and predict.

Training data are augmented in [0, 1] units (so gamma, brightness and erasing mean the same on
every dataset) and standardised afterwards. An `Augmentation` (cnnkit/augment/) is applied
to whole batches with per-example random parameters, which is the same as augmenting each example
before batching but launches each op once per batch instead of once per example.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cnnkit.augment import resize_spatial
from cnnkit.errors import ConfigError, DataError

NORMALIZE_MODES = ("standardize", "rescale", "none")
STATS_VALUES = 2**22
AUGMENT_CHUNK_BATCHES = 8
AUGMENT_CHUNK_VALUES = 2**21


@dataclass
class Preprocessing:
    """Raw example -> model input; serialisable to JSON."""

    raw_shape: list[int]  # one raw example, channels last
    target_shape: list[int]  # the model input
    value_max: float  # raw value that maps to 1.0
    normalize: str = "standardize"
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    class_names: list[str] | None = None
    stats_examples: int | None = None  # the training examples mean/std were computed on
    #: training resized what the files hold to `target_shape` (data.image_size, data.shape,
    #: model.input_shape): predict runs inputs at that size too, not at their own
    resized: bool = False
    #: trained on patches of this spatial size (`data.patch_size`) cut from images kept at
    #: `raw_shape`; null: on whole images resized to `target_shape`. Predict reads it to run a
    #: sliding window over inputs larger than the patch (tasks/sliding_window.py)
    patch_shape: list[int] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def frame_shape(self) -> list[int]:
        """The shape examples are scaled to before any patch is cut: the model input, or with
        patches the raw spatial size (no resize) with the model's channels."""
        if self.patch_shape:
            return [*self.raw_shape[:-1], int(self.target_shape[-1])]
        return list(self.target_shape)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(**data)

    def scale_and_shape(self, x: Any) -> Any:
        """Raw -> [0, 1], resized and channel-adapted to `target_shape` (no normalisation)."""
        import tensorflow as tf

        x = tf.cast(x, tf.float32) / float(self.value_max)
        target = self.frame_shape
        if len(target) in (3, 4):  # 2D images and 3D volumes: resize and adapt channels
            x = resize_to(x, target[:-1], "bilinear")
            x = adapt_channels(x, int(target[-1]))
        return x

    def prepare_target(self, y: Any, kind: Any) -> Any:
        """A raw target of `kind` ready for the model's spatial size.

        Masks are resized with nearest neighbour (class indices stay class indices), "image"
        targets (clean images) and "input" targets (autoencoders: the input itself) are scaled
        and resized like inputs but never standardised, boxes
        (normalised x1, y1, x2, y2), labels and values are unchanged. A dict of kinds (multi-task)
        prepares each head of a dict target.
        """
        if isinstance(kind, Mapping):
            return {head: self.prepare_target(value, kind.get(head, "values"))
                    for head, value in y.items()}
        if kind == "mask":
            return resize_to(y, self.frame_shape[:-1], "nearest")
        if kind in ("image", "input"):
            return self.scale_and_shape(y)
        return y

    def normalize_fn(self, x: Any) -> Any:
        import tensorflow as tf

        if self.normalize == "standardize":
            return (x - tf.constant(self.mean, tf.float32)) / tf.constant(self.std, tf.float32)
        return x

    def __call__(self, x: Any) -> Any:
        return self.normalize_fn(self.scale_and_shape(x))

    def fit(self, train: Any) -> Preprocessing:
        """Compute per-channel mean/std on the (scaled, resized) examples `train`: the training
        split, or a bounded sample of it (see `sample_dataset`)."""
        if self.normalize not in NORMALIZE_MODES:
            raise ConfigError(
                f"`data.normalize` must be one of {', '.join(NORMALIZE_MODES)}. "
                f"Received: {self.normalize!r}"
            )
        if self.normalize != "standardize":
            return self
        import tensorflow as tf

        shape = self.frame_shape  # whole images even when training on patches: they share a size
        channels = int(shape[-1])
        axes = list(range(len(shape)))  # all but the channels of a batch
        total = np.zeros(channels, "float64")
        total_sq = np.zeros(channels, "float64")
        count = examples = 0
        # per-batch sums in TensorFlow, batches of at most STATS_VALUES values: a batch of
        # 1,024 224x224 RGB images as float64 NumPy arrays took 2.4 GB
        per_batch = max(1, STATS_VALUES // int(np.prod(shape)))

        def sums(batch: Any) -> tuple[Any, Any, Any]:
            return (tf.reduce_sum(batch, axes), tf.reduce_sum(tf.square(batch), axes),
                    tf.shape(batch)[0])

        images = train.map(lambda x, y: self.scale_and_shape(x), num_parallel_calls=tf.data.AUTOTUNE)
        for batch_sum, batch_sq, n in images.batch(per_batch).map(sums).as_numpy_iterator():
            total += batch_sum
            total_sq += batch_sq
            examples += int(n)
            count += int(n) * int(np.prod(shape[:-1]))
        if count == 0:
            raise DataError("The training split is empty: cannot compute normalisation statistics.")
        self.stats_examples = examples
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 0.0))
        self.mean = mean.tolist()
        self.std = np.where(std < 1e-7, 1.0, std).tolist()
        return self


def resize_to(x: Any, size: list[int], method: str) -> Any:
    """One example (*spatial, C) or a batch of them, resized to `size` (antialiased when
    shrinking, except with nearest neighbour)."""
    single = x.shape.rank == len(size) + 1
    batch = x[None] if single else x
    if [int(d) for d in batch.shape[1:-1]] == [int(s) for s in size]:
        return x
    out = resize_spatial(batch, size, method, antialias=method != "nearest")
    return out[0] if single else out


def adapt_channels(x: Any, channels: int) -> Any:
    """Gray <-> RGB and RGBA -> RGB, so any image feeds a model of either kind."""
    import tensorflow as tf

    have = x.shape[-1]
    if have == channels:
        return x
    if have == 1 and channels == 3:
        return tf.repeat(x, 3, axis=-1)
    if have in (3, 4) and channels == 1:
        return tf.image.rgb_to_grayscale(x[..., :3])
    if have == 4 and channels == 3:
        return x[..., :3]
    raise DataError(f"Cannot convert images with {have} channels to the model's {channels}.")


def as_dataset(split: Any) -> Any:
    """A split -> an unbatched tf.data.Dataset of raw (x, y), in order: (x, y) arrays, a split
    of files (decoded as read) or a tf.data.Dataset."""
    import tensorflow as tf

    if isinstance(split, tf.data.Dataset):
        return split
    if hasattr(split, "dataset"):  # FileSplit, DiskCachedSplit
        return split.dataset(tf.data.Dataset.range(len(split)))
    x, y = split
    return tf.data.Dataset.from_tensor_slices((x, y))


def random_access(split: Any) -> bool:
    """Whether examples of `split` can be read in any order (files and records: by index)."""
    return hasattr(split, "dataset")


def split_length(split: Any) -> int:
    """Examples in a split; -1 when only a pass over it can tell (a filtered tf.data set)."""
    import tensorflow as tf

    if isinstance(split, tf.data.Dataset):
        return int(split.cardinality())
    if random_access(split):
        return len(split)
    return len(split[1]) if not isinstance(split[1], dict) else len(split[0])


def split_targets(split: Any) -> Any:
    """The raw targets of a split, without decoding its inputs where the split holds them
    apart (arrays, files): class counts and target statistics need only these."""
    if isinstance(split, tuple):
        return split[1]
    if random_access(split) and getattr(split, "mask_decoder", None) is None:
        return split.targets
    return np.concatenate([np.asarray(y)[None] for y in
                           as_dataset(split).map(lambda x, y: y).as_numpy_iterator()])


def sample_dataset(split: Any, count: int, seed: int) -> Any:
    """At most `count` raw examples of `split`, a seeded random subset where the split can be
    read in any order: a bounded sample for statistics."""
    import tensorflow as tf

    total = split_length(split)
    if 0 <= total <= count:
        return as_dataset(split)
    if random_access(split) or not isinstance(split, tf.data.Dataset):
        index = np.sort(np.random.default_rng(seed).choice(total, count, replace=False))
        if random_access(split):
            return split.dataset(tf.data.Dataset.from_tensor_slices(index))
        x, y = split
        y = {k: v[index] for k, v in y.items()} if isinstance(y, dict) else y[index]
        return tf.data.Dataset.from_tensor_slices((x[index], y))
    return split.take(count)


def example_shape(dataset: Any) -> list[int]:
    """The static shape of one raw example."""
    shape = dataset.element_spec[0].shape
    if shape.rank is None or any(d is None for d in shape):
        raise DataError(f"Examples must have a fixed shape. Received: {shape}")
    return [int(d) for d in shape]


def augment_chunk(batch_size: int, elements: int) -> int:
    """How many examples to augment at once: up to 8 batches, about 2M values at most."""
    return batch_size * max(1, min(AUGMENT_CHUNK_BATCHES, AUGMENT_CHUNK_VALUES // (batch_size * elements)))


def epoch_seed(seed: Any, epoch: Any) -> Any:
    """The seed of one epoch's data order and augmentation: a pure function of (seed, epoch), so
    a resumed run replays epoch N exactly as an uninterrupted one (no iterator state to save)."""
    import tensorflow as tf

    return (tf.cast(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64)) % (2**31 - 1)


def build_pipeline(
    split: Any,
    preprocessing: Preprocessing,
    batch_size: int,
    training: bool,
    seed: int,
    target_fn: Callable[[Any], Any] | None = None,
    augment_fn: Any = None,
    cache: str | bool = "memory",
    shuffle_buffer: int = 2048,
    target_kind: Any = "label",
    num_classes: int | None = None,
    start_epoch: int | None = None,
    patches: Any = None,
) -> Any:
    """A batched, prefetched dataset of (model input, target) for one split.

    `augment_fn` (training only): an `Augmentation` (applied per batch with per-example random
    parameters drawn from a seeded stream) or any per-example function (x, y) -> (x, y). Its
    input is in [0, 1]; standardisation follows it. `num_classes`: one-hot (float) labels, for
    losses that take soft labels (mixup, cutmix). `cache`: memory keeps the prepared examples
    (see data/caching.py; a split of files is disk-cached before it gets here). `start_epoch`
    (training): an endless stream of epochs from that one on, each a full permutation of the
    split drawn from `epoch_seed(seed, epoch)`; without it, one training pass (epoch 0's order).
    Splits read by index (files, records) are permuted before they are read, so an epoch never
    holds more than a few batches of decoded examples; others are shuffled after the memory
    cache (a buffer of the whole split holds references, not copies) or, when they are a
    stream of unknown length, through `shuffle_buffer`. `patches` (a `PatchSampling`): the
    examples are kept whole up to here and cut into patches (data/patches.py).
    """
    import tensorflow as tf

    from cnnkit.data.caching import cache_mode

    autotune = tf.data.AUTOTUNE
    target_fn = target_fn or (lambda y: y)
    augmenting = training and augment_fn is not None
    in_memory = cache_mode(cache) == "memory"

    def prepare(x: Any, y: Any) -> tuple[Any, Any]:
        if target_kind == "input":  # autoencoders: the target is the input itself
            y = x
        x = preprocessing.scale_and_shape(x)
        y = target_fn(preprocessing.prepare_target(y, target_kind))
        if num_classes and target_kind == "label" and y.shape.rank == 0:
            y = tf.one_hot(tf.cast(y, tf.int32), int(num_classes))
        return (x if augmenting or patches else preprocessing.normalize_fn(x)), y

    count = split_length(split)
    exact = -1 if getattr(split, "may_skip", False) else count  # unreadable files drop out
    by_index = random_access(split) and not in_memory
    if by_index:
        def examples(order_seed: Any) -> Any:
            indices = tf.data.Dataset.range(count)
            if order_seed is not None:
                indices = indices.shuffle(count, seed=order_seed, reshuffle_each_iteration=False)
            return split.dataset(indices).map(prepare, num_parallel_calls=autotune)
    else:
        prepared = as_dataset(split).map(prepare, num_parallel_calls=autotune)
        if in_memory:
            prepared = prepared.cache()
        buffer = count if in_memory and count > 0 else shuffle_buffer

        def examples(order_seed: Any) -> Any:
            if order_seed is None:
                return prepared
            return prepared.shuffle(max(buffer, 1), seed=order_seed,
                                    reshuffle_each_iteration=False)

    if patches is not None:  # normalised after cutting, unless augmentation comes first
        from cnnkit.data.patches import patched

        def normalize(x: Any, y: Any) -> tuple[Any, Any]:
            return preprocessing.normalize_fn(x), y

        examples, exact = patched(examples, patches, training, seed, exact,
                                  preprocessing.frame_shape[:-1], None if augmenting else normalize)
    if not training:
        ds = examples(None).batch(batch_size)
    else:
        def one_epoch(epoch: Any) -> Any:
            _fix_zero_graph_seed()
            return _one_epoch(examples(epoch_seed(seed, epoch)), exact, epoch_seed(seed, epoch),
                              batch_size, augment_fn, preprocessing, seed)

        ds = one_epoch(0) if start_epoch is None else tf.data.Dataset.range(
            start_epoch, 2**62).flat_map(one_epoch)
    # Parallelism across examples and chunks (AUTOTUNE above), not inside each op: with the
    # default, lenet5/digits/strong read 9.0k against 12.2k img/s here and trained ~10% slower.
    options = tf.data.Options()
    options.threading.max_intra_op_parallelism = 1
    return ds.prefetch(autotune).with_options(options)


def _fix_zero_graph_seed() -> None:
    """TensorFlow compares (graph seed, op seed) with (0, 0) in Python, which a tensor op seed
    cannot answer: with the global seed 0 (`seed=0`) the epochs' stream failed to build. Only
    that seed's orders change; 0 would also mean "unseeded" to the shuffle kernel."""
    import tensorflow as tf

    graph = tf.compat.v1.get_default_graph()  # the epochs' function graph inside flat_map
    if not tf.executing_eagerly() and graph.seed is not None and graph.seed % (2**31 - 1) == 0:
        graph.seed = 1


def _one_epoch(ds: Any, count: int, epoch_seed: Any, batch_size: int, augment_fn: Any,
               preprocessing: Preprocessing, seed: int) -> Any:
    """One augmented, batched pass over the `count` shuffled, prepared examples `ds`."""
    import tensorflow as tf

    autotune = tf.data.AUTOTUNE
    if augment_fn is not None and not hasattr(augment_fn, "apply_batch"):
        ds = ds.map(augment_fn, num_parallel_calls=autotune)
        ds = ds.map(lambda x, y: (preprocessing.normalize_fn(x), y), num_parallel_calls=autotune)
    if augment_fn is None or not hasattr(augment_fn, "apply_batch"):
        return ds.batch(batch_size)
    # Augment chunks of several batches (fewer op launches per example), then re-batch; each
    # chunk's random parameters come from (epoch seed, chunk index), a stateless stream.
    chunk = augment_chunk(batch_size, ds.element_spec[0].shape.num_elements() or 1)

    def augment(index: Any, xy: Any) -> tuple[Any, Any]:
        chunk_seed = tf.stack([epoch_seed, index + tf.constant(seed, tf.int64)])
        x, y = augment_fn.apply_batch(*xy, seed=chunk_seed)
        return preprocessing.normalize_fn(x), y

    ds = ds.batch(chunk).enumerate().map(augment, num_parallel_calls=autotune)
    if chunk != batch_size:
        ds = ds.rebatch(batch_size)
        if count >= 0:  # rebatch forgets the length; Keras needs it for steps per epoch
            ds = ds.apply(tf.data.experimental.assert_cardinality(-(-count // batch_size)))
    return ds


def steps_per_epoch(split: Any, batch_size: int, per_example: int = 1) -> int:
    """Batches in one pass over `split` (counted once when its length is unknown, e.g. filtered),
    each example giving `per_example` model inputs (patches)."""
    import tensorflow as tf

    count = split_length(split)
    if count < 0:
        count = int(as_dataset(split).reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))
    return max(1, -(-count * per_example // int(batch_size)))


