"""Multi-task learning: several named heads on one shared feature extractor.

Each head is an ordinary single task (classification, segmentation, regression, density, ...)
configured under `task.heads.<head>` with its own loss, metrics and a `weight`; the model's
outputs carry the head names (`model.outputs: [class, mask]`) and the data give one target per
head (`data.target: {class: label, mask: mask}`). Training minimises sum_h weight_h * loss_h.

A head's task sees a *view* of the model: a Keras model from the shared input to that head's
output (same layers, same weights), so every single-task method — loss, metrics, evaluate,
predict — works on it unchanged. Reports prefix each head's entries as `<head>/<metric>`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from cnnkit.errors import ConfigError, DataError, did_you_mean
from cnnkit.lazy import lazy
from cnnkit.tasks import TASKS, get_task
from cnnkit.tasks.base import Task, print_metrics_table
from cnnkit.tasks.compat import check_heads
from cnnkit.tasks.schemas import MultitaskSchema

keras = lazy("keras")
losses = lazy("cnnkit.tasks.losses")
HEAD_KEYS = ("task", "weight")  # the multitask's own keys in a head; the rest go to the head task


def head_config(head: str, value: Any) -> Any:
    """The head's task config: that task's preset (conf/task/<task>.yaml) with the head's keys."""
    from importlib import resources

    from omegaconf import DictConfig, OmegaConf

    # called from MultiTask.__init__, i.e. from get_task: every task module is registered by now
    if not isinstance(value, dict | DictConfig) or not value.get("task"):
        raise ConfigError(
            f"`task.heads.{head}` must be a mapping with a `task` name, e.g. "
            f"{{task: classification, weight: 1.0}}. Received: {value!r}"
        )
    name = str(value["task"])
    if name not in TASKS or name == MultiTask.name:
        choices = [t for t in TASKS.list() if t != MultiTask.name]
        raise ConfigError(
            f"`task.heads.{head}.task` names an unknown single task. Received: {name!r}. "
            f"Expected one of: {', '.join(choices)}.{did_you_mean(name, choices)}"
        )
    preset = resources.files("cnnkit.conf") / "task" / f"{name}.yaml"
    base = OmegaConf.create(preset.read_text()) if preset.is_file() else OmegaConf.create({})
    own = {k: v for k, v in OmegaConf.to_container(OmegaConf.create(value)).items()
           if k not in HEAD_KEYS}
    return OmegaConf.merge(base, own, {"name": name})


def head_outputs(model: Any) -> dict[str, Any]:
    """Output name -> output tensor (Keras names outputs after their layers)."""
    return dict(zip(model.output_names, model.outputs, strict=True))


@TASKS.register("multitask", schema=MultitaskSchema, check=check_heads)
class MultiTask(Task):
    name = "multitask"
    output_kind = "heads"  # each head's predictions, written as that head would write them alone

    def __init__(self, cfg: Any, run_cfg: Any = None) -> None:
        super().__init__(cfg, run_cfg)
        from omegaconf import OmegaConf

        heads = None if OmegaConf.is_missing(cfg, "heads") else cfg.get("heads")
        if not heads:
            raise ConfigError(
                "`task.heads` must name at least one head, e.g. {class: {task: classification}, "
                f"mask: {{task: segmentation}}}}. Received: {heads!r}"
            )
        self.heads: dict[str, Task] = {}
        self.weights: dict[str, float] = {}
        for head, value in heads.items():
            self.heads[str(head)] = get_task(head_config(str(head), value), run_cfg)
            if self.heads[str(head)].target_kind == "input":
                raise ConfigError(
                    f"`task.heads.{head}.task`: an autoencoder reconstructs the whole input and "
                    "cannot be one head of several. Expected a task with its own data target, "
                    "e.g. reconstruction with data target denoise."
                )
            weight = value.get("weight", 1.0)
            if not isinstance(weight, int | float) or weight < 0:
                raise ConfigError(
                    f"`task.heads.{head}.weight` must be a number >= 0. Received: {weight!r}")
            self.weights[str(head)] = float(weight)
        self.target_kind = {head: task.target_kind for head, task in self.heads.items()}

    # --- model --------------------------------------------------------------------------------

    def complete_model_config(self, model_cfg: Any, class_names: list[str] | None,
                              input_shape: list[int] | None = None) -> None:
        """Heads fill what they need in order; the first head to fill a key (e.g.
        `num_classes`) sets it, so list the head that `${model.num_classes}` serves first."""
        from omegaconf import open_dict

        with open_dict(model_cfg):
            if model_cfg.get("outputs") is None:
                model_cfg.outputs = list(self.heads)
        for task in self.heads.values():
            task.complete_model_config(model_cfg, class_names, input_shape)

    def view(self, model: Any, head: str) -> Any:
        """A model from the shared input to one head's output (shared layers and weights)."""
        outputs = head_outputs(model)
        if head not in outputs:
            raise ConfigError(
                f"`task.heads` names {head!r}, which is not an output of the model. The model's "
                f"outputs: {', '.join(outputs)}. Expected `model.outputs` to list the head names "
                f"{list(self.heads)}.{did_you_mean(head, outputs)}"
            )
        return keras.Model(model.input, outputs[head], name=f"{model.name}_{head}")

    # --- training -----------------------------------------------------------------------------

    def head_data(self, data: Any, head: str) -> Any:
        """A `PreparedData` whose targets are this head's only."""
        splits = {name: _project(split, head) for name, split in data.source.splits.items()}
        return dataclasses.replace(data, source=dataclasses.replace(data.source, splits=splits),
                                   target_kind=self.heads[head].target_kind)

    def fit(self, data: Any) -> None:
        for head, task in self.heads.items():
            task.fit(self.head_data(data, head))
            if task.state:
                self.state[head] = task.state

    def restore_state(self, state: dict[str, Any]) -> None:
        super().restore_state(state)
        for head, task in self.heads.items():
            task.restore_state(self.state.get(head, {}))

    def fit_options(self) -> dict[str, Any]:
        for head, task in self.heads.items():
            if task.fit_options():
                raise ConfigError(
                    f"`task.heads.{head}` asks for {', '.join(task.fit_options())}, which Keras "
                    "does not support with several outputs. Expected it left out of the head."
                )
        return {}

    def target_fn(self) -> Any:
        functions = {head: task.target_fn() for head, task in self.heads.items()}

        def per_head(y: Any) -> dict[str, Any]:
            if not isinstance(y, dict) or not set(functions) <= set(y):
                have = sorted(y) if isinstance(y, dict) else "one target"
                raise DataError(
                    f"`data.target` must give one target per head {sorted(functions)}, e.g. "
                    f"data.target={{{', '.join(f'{h}: TARGET' for h in functions)}}}. "
                    f"Received: {have}"
                )
            return {h: fn(y[h]) if fn is not None else y[h] for h, fn in functions.items()}

        return per_head

    def loss(self, model: Any) -> dict[str, Any]:
        return {head: losses.WeightedLoss(task.loss(self.view(model, head)), self.weights[head])
                for head, task in self.heads.items()}

    def metrics(self, model: Any) -> dict[str, list[Any]]:
        return {head: task.metrics(self.view(model, head)) for head, task in self.heads.items()}

    # --- evaluate / predict -------------------------------------------------------------------

    def head_class_names(self, head: str, class_names: list[str] | None) -> list[str] | None:
        """The data's class names describe labels; other heads name their own classes."""
        return class_names if self.heads[head].target_kind == "label" else None

    def evaluate(self, model: Any, dataset: Any, class_names: list[str] | None) -> dict[str, Any]:
        """The weighted total loss, then every head's own report as `<head>/<entry>`."""
        total = model.evaluate(dataset, return_dict=True, verbose=0)
        report: dict[str, Any] = {"loss": float(total["loss"]), "heads": list(self.heads)}
        for head, task in self.heads.items():
            view = self.view(model, head)
            view.compile(loss=task.loss(view), metrics=task.metrics(view))
            head_ds = dataset.map(lambda x, y, h=head: (x, y[h]))
            sub = task.evaluate(view, head_ds, self.head_class_names(head, class_names))
            report.update({f"{head}/{key}": value for key, value in sub.items()})
        return report

    def print_report(self, report: dict[str, Any], console: Any) -> None:
        print_metrics_table({"loss": report["loss"]}, console, title="Multi-task (weighted loss)")
        for head, task in self.heads.items():
            prefix = f"{head}/"
            console.rule(f"head {head} ({task.name})")
            task.print_report({k[len(prefix):]: v for k, v in report.items()
                               if k.startswith(prefix)}, console)

    def predict_samples(self, model: Any, raw_inputs: Any, preprocessing: Any) -> dict[str, Any]:
        return {head: task.predict_samples(self.view(model, head), raw_inputs, preprocessing)
                for head, task in self.heads.items()}


def _project(split: Any, head: str) -> Any:
    """(x, {head: y, ...}) -> (x, y) for arrays or a tf.data.Dataset."""
    import tensorflow as tf

    if isinstance(split, tf.data.Dataset):
        return split.map(lambda x, y: (x, y[head]))
    x, y = split
    if not isinstance(y, dict) or head not in y:
        raise DataError(
            f"`data.target` must give a target for the head {head!r}, e.g. "
            f"data.target={{{head}: TARGET, ...}}. Received: "
            f"{sorted(y) if isinstance(y, dict) else 'one target'}"
        )
    return x, y[head]
