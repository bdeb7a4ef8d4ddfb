"""Composing configs: `conf=NAME|PATH.yaml` and Hydra overrides -> one OmegaConf config.

`conf=NAME` selects `conf/experiment/NAME.yaml`. `conf=PATH.yaml` is a user's own file merged over
the defaults: it is copied, as a global-package experiment, into a private search-path folder so
that Hydra composes it exactly like a preset (its own `defaults:` list and overrides work too).
A file (or a `data.source=...` override) that names a group option directly — `data: {source:
folder, path: DIR}` — selects that preset, as `data=folder` would.

Key overrides reach Hydra as `++key=value`: Hydra then never refuses an unknown key with its own
multi-line text; cnnkit's validation pass refuses it with the full key and a did-you-mean. Hydra's
remaining errors (unknown group option, override grammar) become one-line ConfigErrors here.
"""

from __future__ import annotations

import atexit
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cnnkit.errors import ConfigError, closest, did_you_mean

CONFIG_MODULE = "cnnkit.conf"
PACKAGE_HEADER = "# @package _global_"
GROUPS = ("data", "model", "task", "augment", "optimizer", "trainer", "logger", "hparams_search",
          "experiment")
#: a key whose value names a preset of a group: `data.source=folder` means `data=folder`
SELECTORS = {"data": "source", "task": "name", "optimizer": "name", "model": "kind",
             "logger": "name"}
#: Hydra plugin presets that an optional extra of cnnkit installs: preset -> (plugin, extra)
PLUGIN_EXTRAS = {"hydra/sweeper/optuna": ("hydra-optuna-sweeper", "optuna"),
                 "hydra/launcher/joblib": ("hydra-joblib-launcher", "joblib"),
                 "hydra/launcher/submitit_slurm": ("hydra-submitit-launcher", "submitit"),
                 "hydra/launcher/submitit_local": ("hydra-submitit-launcher", "submitit")}
_OVERRIDE = re.compile(r"^(?P<prefix>[+~]*)(?P<key>[\w.\-/@\[\]]+)=(?P<value>.*)$", re.S)


def preset_names(group: str) -> list[str]:
    """YAML files shipped in `conf/<group>/`, without the extension."""
    from importlib import resources

    folder = resources.files(CONFIG_MODULE) / group
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _preset_for(group: str, value: Any) -> str | None:
    """The preset a selector value picks (`folder` for data.source=folder); None: keep the key."""
    if group == "model":
        return "backbone" if value == "backbone" else None
    return str(value) if str(value) in preset_names(group) else None


def _read_user_yaml(path: Path) -> dict[str, Any]:
    import yaml
    from omegaconf import OmegaConf

    text = path.read_text()
    try:
        yaml.safe_load(text)  # for the line and caret of a syntax error
        content = OmegaConf.to_container(OmegaConf.create(text or "{}"), resolve=False)
    except yaml.YAMLError as exc:
        raise ConfigError(f"`conf={path}` is not valid YAML: {_yaml_problem(exc, text)}") from exc
    except Exception as exc:  # OmegaConf refuses e.g. a list at the top
        raise ConfigError(f"`conf={path}` must hold a mapping of config keys. "
                          f"Received: {str(exc).splitlines()[0]}") from exc
    if not isinstance(content, dict):
        raise ConfigError(f"`conf={path}` must hold a mapping of config keys. Received: {content!r}")
    return content


def _yaml_problem(exc: Any, text: str) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return problem
    line = text.splitlines()[mark.line] if mark.line < len(text.splitlines()) else ""
    return f"{problem} (line {mark.line + 1}, column {mark.column + 1}):\n  {line}\n  {' ' * mark.column}^"


def _user_file_overrides(path: Path) -> list[str]:
    from omegaconf import OmegaConf

    if not path.is_file():
        raise ConfigError(
            f"`conf={path}`: no such file. Expected a preset name "
            f"({', '.join(preset_names('experiment')) or 'none shipped'}) or the path of a YAML file."
        )
    content = _read_user_yaml(path)
    text = path.read_text()
    header = text.splitlines()[0] if text.lstrip().startswith("# @package") else PACKAGE_HEADER
    content.setdefault("name", path.stem)
    model = content.get("model")
    if isinstance(model, dict) and "layers" in model:
        model.setdefault("name", path.stem)  # the preset's name would mislabel the user's layers
    defaults = content.setdefault("defaults", [])
    if not isinstance(defaults, list):
        raise ConfigError(f"`conf={path}`: `defaults` must be a list. Received: {defaults!r}")
    chosen = {str(k).removeprefix("override ").strip("/") for item in defaults
              if isinstance(item, dict) for k in item}
    for group, selector in SELECTORS.items():
        values = content.get(group)
        if isinstance(values, dict) and group not in chosen and selector in values:
            preset = _preset_for(group, values[selector])
            if preset:
                defaults.append({f"override /{group}": preset})
    if "_self_" not in defaults:
        defaults.append("_self_")
    folder = Path(tempfile.mkdtemp(prefix="cnnkit-conf-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "experiment").mkdir()
    body = OmegaConf.to_yaml(OmegaConf.create(content))
    (folder / "experiment" / f"{path.stem}.yaml").write_text(f"{header}\n{body}")
    return [f"hydra.searchpath=[file://{folder}]", f"experiment={path.stem}"]


def translate_overrides(args: list[str]) -> list[str]:
    """cnnkit's arguments as Hydra overrides: `conf=...` selects a preset or file, a selector
    key (`data.source=folder`) selects its group's preset, other keys become `++key=value`."""
    out: list[str] = []
    for arg in args:
        match = _OVERRIDE.match(arg)
        if arg.startswith("conf="):
            out += _conf_overrides(arg[len("conf="):])
        elif match is None or arg.startswith("-") or match["prefix"]:
            out.append(arg)  # flags, and overrides the user prefixed on purpose
        else:
            out.append(_key_override(match["key"], match["value"], arg))
    return out


def _key_override(key: str, value: str, arg: str) -> str:
    if key in GROUPS or key.startswith(("hydra.", "hydra/")) or key == "hydra":
        return arg
    group, _, rest = key.partition(".")
    if SELECTORS.get(group) == rest and (preset := _preset_for(group, value)):
        return f"{group}={preset}"
    return f"++{arg}"


def _conf_overrides(value: str) -> list[str]:
    if value.endswith((".yaml", ".yml")) or "/" in value:
        return _user_file_overrides(Path(value).expanduser().resolve())
    names = preset_names("experiment")
    if value not in names:
        raise ConfigError(
            f"`conf` names an unknown preset. Received: {value!r}. Expected one of: "
            f"{', '.join(names) or 'none'} or a path to a YAML file.{did_you_mean(value, names)}"
        )
    return [f"experiment={value}"]


def compose(config_name: str, args: list[str]) -> Any:
    """Compose `conf/<config_name>.yaml` with `args` (conf= and overrides), unresolved."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module

    overrides = translate_overrides(args)
    with hydra_errors(args), initialize_config_module(config_module=CONFIG_MODULE,
                                                      version_base="1.3"):
        return hydra_compose(config_name=config_name, overrides=overrides)


@contextmanager
def hydra_errors(args: list[str]) -> Iterator[None]:
    """Turn Hydra's and OmegaConf's exceptions into one-line ConfigErrors naming what was typed."""
    from hydra.errors import HydraException, MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException

    try:
        yield
    except MissingConfigException as exc:
        raise _missing_option(exc, args) from exc
    except OverrideParseException as exc:
        typed = str(getattr(exc, "override", None) or "an override").removeprefix("++")
        raise ConfigError(f"`{typed}` is not a valid override: {_first_line(exc)}. Expected "
                          "key=value, e.g. trainer.epochs=3 or data.image_size=64") from exc
    except (HydraException, OmegaConfBaseException) as exc:
        ambiguous = re.search(r"Ambiguous value for argument '([^']*)'", str(exc))
        if ambiguous:
            raise ConfigError(
                f"`{ambiguous[1].lstrip('+')}` holds a comma: add -m to sweep over the values, "
                "write [a,b] for a list, or quote it for a string.") from exc
        raise ConfigError(_first_line(exc)) from exc


def _missing_option(exc: Any, args: list[str]) -> ConfigError:
    """`model=resnet` -> did you mean resnet18, resnet34, resnet50, and the presets."""
    missing = str(getattr(exc, "missing_cfg_file", "") or "")
    group, _, option = missing.rpartition("/")
    if missing in PLUGIN_EXTRAS:
        plugin, extra = PLUGIN_EXTRAS[missing]
        return ConfigError(f"`{group}={option}` needs the Hydra plugin {plugin}, which is not "
                           f'installed. Install it with: pip install "cnnkit[{extra}]"')
    options = [str(o) for o in getattr(exc, "options", None) or []]
    if not group or not options:
        return ConfigError(_first_line(exc))
    hits = sorted(closest(option, options))
    hint = f" Did you mean: {', '.join(hits)}?" if hits else ""
    return ConfigError(f"`{group}={option}` names no shipped {group} preset.{hint}\n"
                       f"  Expected one of: {', '.join(options)}.")


def _first_line(exc: Any) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
