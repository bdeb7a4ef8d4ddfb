"""Composing configs: `conf=NAME|PATH.yaml` and Hydra overrides -> one OmegaConf config.

`conf=NAME` selects `conf/experiment/NAME.yaml`. `conf=PATH.yaml` is a user's own file merged over
the defaults: it is copied, as a global-package experiment, into a private search-path folder so
that Hydra composes it exactly like a preset (its own `defaults:` list and overrides work too).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

from cnnkit.errors import ConfigError, did_you_mean

CONFIG_MODULE = "cnnkit.conf"
PACKAGE_HEADER = "# @package _global_"


def preset_names(group: str) -> list[str]:
    """YAML files shipped in `conf/<group>/`, without the extension."""
    from importlib import resources

    folder = resources.files(CONFIG_MODULE) / group
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def _user_file_overrides(path: Path) -> list[str]:
    import yaml

    if not path.is_file():
        raise ConfigError(
            f"`conf={path}`: no such file. Expected a preset name "
            f"({', '.join(preset_names('experiment')) or 'none shipped'}) or the path of a YAML file."
        )
    text = path.read_text()
    try:
        content = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"`conf={path}` is not valid YAML: {exc}") from exc
    if not isinstance(content, dict):
        raise ConfigError(f"`conf={path}` must hold a mapping of config keys. Received: {content!r}")
    folder = Path(tempfile.mkdtemp(prefix="cnnkit-conf-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "experiment").mkdir()
    header = text.splitlines()[0] if text.lstrip().startswith("# @package") else PACKAGE_HEADER
    content.setdefault("name", path.stem)
    model = content.get("model")
    if isinstance(model, dict) and "layers" in model:
        model.setdefault("name", path.stem)  # the preset's name would mislabel the user's layers
    body = yaml.safe_dump(content, sort_keys=False)
    (folder / "experiment" / f"{path.stem}.yaml").write_text(f"{header}\n{body}")
    return [f"hydra.searchpath=[file://{folder}]", f"experiment={path.stem}"]


def translate_overrides(args: list[str]) -> list[str]:
    """Replace `conf=...` by the Hydra overrides that select it; other args pass through."""
    out: list[str] = []
    for arg in args:
        if not arg.startswith("conf="):
            out.append(arg)
            continue
        value = arg[len("conf="):]
        looks_like_path = value.endswith((".yaml", ".yml")) or "/" in value
        if looks_like_path:
            out += _user_file_overrides(Path(value).expanduser().resolve())
            continue
        names = preset_names("experiment")
        if value not in names:
            raise ConfigError(
                f"`conf` names an unknown preset. Received: {value!r}. Expected one of: "
                f"{', '.join(names) or 'none'} or a path to a YAML file.{did_you_mean(value, names)}"
            )
        out.append(f"experiment={value}")
    return out


def compose(config_name: str, args: list[str]) -> object:
    """Compose `conf/<config_name>.yaml` with `args` (conf= and Hydra overrides), unresolved."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_module
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    overrides = translate_overrides(args)
    try:
        with initialize_config_module(config_module=CONFIG_MODULE, version_base="1.3"):
            return hydra_compose(config_name=config_name, overrides=overrides)
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)) from exc
