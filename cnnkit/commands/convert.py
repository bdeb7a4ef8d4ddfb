"""`cnnkit data convert`: write the configured data as TFRecord shards (`data=records` reads them).

The data are named as for `cnnkit train` (conf=, data=, data.KEY=); `output=DIR`, `shard_mb=N`,
`shuffle=` and `overwrite=` are short for the `convert.*` keys. The writing is
`cnnkit.data.records`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnkit.commands.common import console, quiet_tensorflow, wants_debug
from cnnkit.commands.validation import validated
from cnnkit.config.compose import compose
from cnnkit.data.records import META_FILE, convert_data

SHORT_KEYS = ("output", "shard_mb", "shuffle", "overwrite")


def run(args: list[str]) -> dict[str, Any]:
    """Convert; returns the records.json written."""
    args = [f"convert.{a}" if a.partition("=")[0] in SHORT_KEYS else a for a in args]
    # the task is not needed: the data's own check runs when the source loads
    cfg = validated(compose("convert", args), uses_data=False)
    quiet_tensorflow(wants_debug(args))
    settings = cfg.convert
    output = Path(str(settings.output)).expanduser()
    meta = convert_data(cfg.data, output, shard_mb=float(settings.shard_mb),
                        shuffle=bool(settings.shuffle), seed=int(cfg.data.get("seed", cfg.seed)),
                        overwrite=bool(settings.overwrite))
    out = console()
    for name, split in meta["splits"].items():
        out.print(f"{name}: {split['count']} examples in {len(split['shards'])} shards "
                  f"({split['bytes'] / 2**20:.1f} MB)" + (", shuffled" if split["shuffled"] else ""),
                  soft_wrap=True)
    out.print(f"Wrote {output / META_FILE} (x: {meta['x']['shape']} {meta['x']['dtype']}). "
              f"Train on it with: cnnkit train data=records data.path={output}", soft_wrap=True)
    return meta
