"""A warm-up for Keras' EMA of the weights (`trainer.ema`).

Keras averages with a fixed decay from the first step, so with 0.999 the average still holds
39% of the random initial weights after 940 steps (two epochs of Fashion-MNIST at batch 128):
validation on it sat at chance for epochs and a GAN's sample grids showed noise. As
`tf.train.ExponentialMovingAverage(num_updates=...)` and timm do, the decay of step t here is
min(decay, (1 + t) / (10 + t)): early on the average follows the weights, later it averages over
the last ~t/9 steps up to the configured decay. It is a function of the optimizer's step count
alone, so a resumed run averages exactly as an uninterrupted one.
"""

from __future__ import annotations

import types
from typing import Any

#: Keras' per-step hook (keras.src.optimizers.base_optimizer, Keras 3.15) that this wraps;
#: tests/unit/training/test_ema.py fails when a Keras release renames it
HOOK = "_update_model_variables_moving_average"


def warmed_decay(decay: float, step: Any) -> Any:
    """The EMA decay used at optimizer step `step` (a tensor or a number)."""
    from keras import ops

    t = ops.cast(step, "float32")
    return ops.minimum(decay, (1.0 + t) / (10.0 + t))


def warm_up_ema(optimizer: Any) -> Any:
    """`optimizer` (built with use_ema) with the warmed-up decay; its config is unchanged, so
    the saved model loads as a plain Keras optimizer."""
    keras_update = getattr(optimizer, HOOK)
    decay = float(optimizer.ema_momentum)

    def update(self: Any, trainable_variables: Any) -> None:
        self.ema_momentum = warmed_decay(decay, self.iterations)
        try:
            keras_update(trainable_variables)
        finally:
            self.ema_momentum = decay  # a float again for get_config and the next trace

    setattr(optimizer, HOOK, types.MethodType(update, optimizer))
    return optimizer
