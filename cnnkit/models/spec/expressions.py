"""`$arg` references and the arithmetic on them in a layer spec (`"$filters * 4"`): numbers
and + - * / // % ** only, computed by walking the syntax tree, so nothing is executed.

Arithmetic on numbers alone is computed too: it is what an OmegaConf interpolation such as
`"${model.base_filters} * 2"` leaves (`"64 * 2"`), and what YAML 1.1 leaves of `1e-3` (a string)."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cnnkit.errors import ModelSpecError, did_you_mean

ARG = re.compile(r"\$([A-Za-z_]\w*)")
NUMBERS_ONLY = re.compile(r"[\d\s.eE+\-*/%()]*\d[\d\s.eE+\-*/%()]*")
_OPERATORS: dict[type, Callable[..., Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
    ast.Div: operator.truediv, ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod,
    ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos,
}


def _evaluate(expr: str, values: Mapping[str, Any], where: str) -> Any:
    """Arithmetic over numbers and `$args` by walking the syntax tree: nothing is executed."""
    names: dict[str, Any] = {}

    def placeholder(match: re.Match) -> str:
        key = f"_arg{len(names)}"
        names[key] = values[match.group(1)]
        return key

    text = ARG.sub(placeholder, expr)

    def walk(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return node.value
        if isinstance(node, ast.Name) and node.id in names:
            value = names[node.id]
            if isinstance(value, int | float):
                return value
            raise ModelSpecError(f"{where}: {expr!r} does arithmetic on a non-number {value!r}")
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
            return _OPERATORS[type(node.op)](walk(node.operand))
        raise ModelSpecError(
            f"{where}: {expr!r} is not `$arg` or arithmetic on numbers and `$args` "
            "(+ - * / // % ** and parentheses)"
        )

    try:
        return walk(ast.parse(text.strip(), mode="eval"))
    except SyntaxError as exc:
        raise ModelSpecError(f"{where}: cannot read the expression {expr!r}") from exc
    except ZeroDivisionError as exc:
        raise ModelSpecError(f"{where}: {expr!r} divides by zero") from exc


class Args(Mapping):
    """Argument values of one scope; `channels` is looked up lazily from the built graph."""

    def __init__(self, values: Mapping[str, Any], channels: Callable[[], Any] | None = None):
        self.values = dict(values)
        self.channels = channels

    def __getitem__(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        if key == "channels" and self.channels is not None:
            return self.channels()
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter([*self.values, "channels"])

    def __len__(self) -> int:
        return len(self.values) + 1


def substitute(value: Any, args: Args, where: str) -> Any:
    """Replace `$arg` references (and arithmetic on them) throughout a value."""
    if isinstance(value, Mapping):
        return {k: substitute(v, args, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(v, args, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str) and "$" not in value and NUMBERS_ONLY.fullmatch(value):
        try:
            return _evaluate(value, args, f"`{where}`")
        except ModelSpecError:  # e.g. "1.2.3": not arithmetic, left to the layer to refuse
            return value
    if not isinstance(value, str) or "$" not in value:
        return value
    for ref in ARG.findall(value):
        if ref not in args:
            known = sorted(args.values) + (["channels"] if args.channels else [])
            raise ModelSpecError(
                f"`{where}` refers to ${ref}, which is not an argument here. "
                f"Known: {', '.join('$' + k for k in known) or 'none'}.{did_you_mean(ref, known)}"
            )
    whole = ARG.fullmatch(value.strip())
    return args[whole.group(1)] if whole else _evaluate(value, args, f"`{where}`")
