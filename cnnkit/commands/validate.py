"""`cnnkit validate [conf=...] [key=value ...]`: check a config and build its model, train nothing.

Everything `train` would refuse is refused here, with the same one-line messages and exit 2;
then the model is built symbolically (shapes and parameter count) from the model's own input
shape or a few of the data's examples, never the whole dataset.
"""

from __future__ import annotations

import math
from typing import Any

from cnnkit.commands.common import (
    console,
    model_only_config,
    quiet_tensorflow,
    symbolic_model,
    wants_debug,
)


def run(args: list[str]) -> dict[str, Any]:
    args = planned(args)
    cfg = model_only_config("train", args)
    out = console()
    out.print(f"[bold]cnnkit validate[/bold]: config OK — data={cfg.data.source}, "
              f"model={cfg.model.get('name')} ({cfg.model.get('kind', 'spec')}), "
              f"task={cfg.task.name}, optimizer={cfg.optimizer.name}")
    quiet_tensorflow(wants_debug(args))
    model = symbolic_model(cfg)
    trainable = sum(math.prod(w.shape) for w in model.trainable_weights)
    total = model.count_params()
    shapes = ", ".join(str(tuple(o.shape[1:])) for o in model.outputs)
    out.print(f"model builds: input {tuple(model.inputs[0].shape[1:])} -> output {shapes}; "
              f"{total:,} parameters ({trainable:,} trainable)")
    return {"params": total, "trainable_params": trainable}


def planned(args: list[str]) -> list[str]:
    """`args` with the plan's choices added where `train` would plan (no model given on a
    user's data, or model=auto), so what is validated is what would train."""
    from cnnkit.commands.plan import AUTO, describe, plan_for
    from cnnkit.config.compose import translate_overrides

    overrides = translate_overrides(args)
    plan, _ = plan_for(args, overrides, overrides)
    if plan is None:
        return args
    console().print(f"plan: {describe(plan)}")
    return [a for a in args if a != AUTO] + plan.overrides()
