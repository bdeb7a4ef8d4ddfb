"""`cnnkit evaluate run=RUN_DIR [data.split=test]`: score a trained run on one split."""

from __future__ import annotations

from typing import Any

from cnnkit.commands.common import apply_overrides, console, split_named_args, tta_option
from cnnkit.commands.validation import validated
from cnnkit.data.build import prepare_data
from cnnkit.errors import ConfigError
from cnnkit.io.evaluation import evaluate_split
from cnnkit.io.rundir import RunDir, read_task_state
from cnnkit.tasks import get_task

USAGE = ("cnnkit evaluate run=RUN_DIR [data.split=test] [data.KEY=VALUE ...] "
         "[tta=none|flips|flips_all] [attack=fgsm|pgd attack.eps=[0,0.01,0.03,0.1]]")


def run(args: list[str]) -> dict[str, Any]:
    """Score the run's model with its task's metrics; writes eval/<split>.json and prints tables."""
    import keras

    import cnnkit.training.lr_schedule  # noqa: F401  (registers the schedule a saved optimizer names)

    attack, args = attack_options(args)
    tta, args = tta_option(args)
    if tta != "none" and attack["name"] != "none":
        raise ConfigError(f"`tta={tta}` with `attack={attack['name']}`: the attacks perturb the "
                          "model itself. Expected tta=none with an attack")
    named, overrides = split_named_args(args, {"run": "the run directory to evaluate"}, USAGE)
    run_dir = RunDir.open(named["run"])
    cfg = validated(apply_overrides(run_dir.load_config(), overrides), saved=True)
    keras.utils.set_random_seed(int(cfg.seed))
    split = str(cfg.data.split)
    task = get_task(cfg.task, cfg)
    task.restore_state(read_task_state(run_dir.path))
    preprocessing = run_dir.load_preprocessing()
    data = prepare_data(cfg, task.target_kind, preprocessing=preprocessing)
    if attack["name"] != "none":
        from cnnkit.robustness.report import evaluate_attack

        return evaluate_attack(run_dir.load_model(), data, task, split, run_dir.path, attack,
                               console())
    return evaluate_split(run_dir.load_model(), data, task, split, run_dir.path, console(),
                          tta=tta)


def attack_options(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """The `attack=` / `attack.KEY=` arguments checked by AttackSchema, and the other args."""
    from omegaconf import OmegaConf

    from cnnkit.config.check import check_group
    from cnnkit.config.plain import to_plain
    from cnnkit.config.schema import AttackSchema

    values: dict[str, Any] = {}
    rest = []
    for arg in args:
        key, _, value = arg.partition("=")
        if key == "attack" or key.startswith("attack."):
            values[key.partition(".")[2] or "name"] = to_plain(OmegaConf.from_dotlist([f"v={value}"]).v)
        else:
            rest.append(arg)
    return check_group(values, AttackSchema, "attack"), rest
