"""Training: device policy and distribution, optimizers, callbacks."""
