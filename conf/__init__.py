# Makes conf/ importable as `cnnkit.conf` (see pyproject.toml) so Hydra finds it as pkg://cnnkit.conf.
