"""`cnnkit evaluate attack=fgsm|pgd`: at eps=0 the accuracy is plain evaluate's; it falls as eps
grows; the table's figures are in eval/<split>_<attack>.json with a plot."""

from __future__ import annotations

import subprocess

import pytest

from cnnkit.errors import ConfigError
from tests.conftest import cnnkit_executable

pytestmark = pytest.mark.slow

EPS = [0.0, 0.03, 0.1, 0.3]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("attack")
    run = work / "run"
    result = subprocess.run([*cnnkit_executable(), "train", "data=digits", "trainer.epochs=3",
                             f"hydra.run.dir={run}"], cwd=work, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    return run


@pytest.mark.parametrize("attack", ["fgsm", "pgd"])
def test_accuracy_at_eps_zero_is_evaluates_and_falls_with_eps(digits_run, attack):
    import json

    from cnnkit.commands.evaluate import run as evaluate

    plain = evaluate([f"run={digits_run}", "data.split=test"])
    extra = ["attack.steps=5"] if attack == "pgd" else []
    report = evaluate([f"run={digits_run}", "data.split=test", f"attack={attack}",
                       f"attack.eps={EPS}", *extra])
    accuracies = [row["accuracy"] for row in report["results"]]
    assert [row["eps"] for row in report["results"]] == EPS
    assert accuracies[0] == plain["accuracy"]
    assert all(a >= b for a, b in zip(accuracies, accuracies[1:], strict=False))
    assert accuracies[-1] < accuracies[0] - 0.3
    stored = json.loads((digits_run / "eval" / f"test_{attack}.json").read_text())
    assert stored["results"] == report["results"]
    assert (digits_run / stored["plot"]).is_file()


def test_attack_keys_are_checked(digits_run):
    from cnnkit.commands.evaluate import run as evaluate

    with pytest.raises(ConfigError, match="Did you mean: steps"):
        evaluate([f"run={digits_run}", "attack=pgd", "attack.step=3"])
    with pytest.raises(ConfigError, match="must be one of none, fgsm, pgd"):
        evaluate([f"run={digits_run}", "attack=fgm"])
