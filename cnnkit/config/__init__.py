"""Config: composing Hydra configs, the `conf=` preset/file switch, and validation."""
