"""Typing that catches misuse: mypy accepts the pass_ snippets and rejects the fail_ ones.

Each snippet in tests/typing/ states what mypy must say about the next code line in
comments: ``# E: <error message>`` or ``# N: Revealed type is "<type>"``. mypy runs once
over all snippets (with the project's configuration); every error and every revealed
type must be exactly the expected ones. The snippets are excluded from the project's own
mypy run and from pytest's collection, since the fail_ ones must not type-check.

A second check walks the annotations of the public API: no ``Any`` outside numpy's own
array types.
"""

from __future__ import annotations

import inspect
import os
import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path

import mypy.api
import numpy as np
import pytest

import fmlp
import fmlp.testing

ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = sorted(
    path.relative_to(ROOT).as_posix()
    for pattern in ("pass_*.py", "fail_*.py")
    for path in (ROOT / "tests" / "typing").glob(pattern)
)
LINE = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): (?P<kind>error|note): (?P<message>.*?)(  \[[a-z-]+\])?$"
)
EXPECTATION = re.compile(r"^\s*# (?P<kind>[EN]): (?P<message>.*)$")

Finding = tuple[int, str, str]  # (line, "error" | "note", message)


@pytest.fixture(scope="module")
def findings() -> dict[str, set[Finding]]:
    # One mypy run over every snippet: a run per snippet would cost seconds each.
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        out, err, status = mypy.api.run(
            ["--config-file", "pyproject.toml", "--no-error-summary", "--no-pretty", *SNIPPETS]
        )
    finally:
        os.chdir(cwd)
    assert status in (0, 1), f"mypy crashed:\n{err}{out}"
    found: dict[str, set[Finding]] = {path: set() for path in SNIPPETS}
    for text in out.splitlines():
        match = LINE.match(text)
        assert match is not None, f"unexpected mypy output line: {text!r}"
        kind, message = match["kind"], match["message"]
        if kind == "note" and not message.startswith("Revealed type is"):
            continue  # context notes (protocol conflicts, Liskov hints) are not asserted
        found[match["path"]].add((int(match["line"]), kind, message))
    return found


def expectations(path: str) -> Iterator[Finding]:
    pending: list[tuple[str, str]] = []
    for number, text in enumerate((ROOT / path).read_text().splitlines(), start=1):
        match = EXPECTATION.match(text)
        if match is not None:
            pending.append(("error" if match["kind"] == "E" else "note", match["message"]))
        elif text.strip() and not text.strip().startswith("#"):
            # Expectations apply to the next code line.
            yield from ((number, kind, message) for kind, message in pending)
            pending = []
    assert not pending, f"{path}: expectations after the last code line"


def test_there_are_snippets_of_both_kinds() -> None:
    kinds = {Path(path).name.split("_")[0] for path in SNIPPETS}
    assert kinds == {"pass", "fail"}


@pytest.mark.parametrize("path", SNIPPETS)
def test_mypy_says_exactly_what_the_snippet_expects(
    path: str, findings: dict[str, set[Finding]]
) -> None:
    expected = set(expectations(path))
    errors = {f for f in expected if f[1] == "error"}
    if Path(path).name.startswith("pass_"):
        assert not errors, f"{path} is a pass_ snippet but expects errors"
    else:
        assert errors, f"{path} is a fail_ snippet but expects no error"
    missing, unexpected = expected - findings[path], findings[path] - expected
    assert not missing and not unexpected, (
        f"{path}\n  expected but not reported: {sorted(missing)}"
        f"\n  reported but not expected: {sorted(unexpected)}"
    )


# --- no Any in the public API ----------------------------------------------------------------


def _any_in(hint: object, where: str) -> Iterator[str]:
    # For type aliases: look through the hint, but not into numpy's own generics.
    if hint is typing.Any:
        yield where
        return
    if typing.get_origin(hint) in (np.ndarray, np.dtype):
        return
    for arg in typing.get_args(hint):
        for inner in arg if isinstance(arg, (list, tuple)) else [arg]:
            yield from _any_in(inner, where)


def _annotations(obj: object) -> dict[str, object]:
    # As written in fmlp's source (string annotations): numpy's aliases such as DTypeLike
    # expand to Any-bearing unions at run time, and those are numpy's business.
    if isinstance(obj, type):
        found: dict[str, object] = {}
        for klass in obj.__mro__:
            if klass.__module__.startswith("fmlp"):
                found.update(getattr(klass, "__annotations__", {}))
                for attr, member in vars(klass).items():
                    if isinstance(member, types.FunctionType):
                        for key, value in member.__annotations__.items():
                            found[f"{attr}.{key}"] = value
        return found
    if isinstance(obj, types.FunctionType):
        return dict(inspect.unwrap(obj).__annotations__)
    return {}


def test_the_public_api_has_no_any() -> None:
    offenders: list[str] = []
    checked = 0
    for module in (fmlp, fmlp.testing):
        for name in module.__all__:
            obj = getattr(module, name)
            where = f"{module.__name__}.{name}"
            annotations = _annotations(obj)
            if isinstance(obj, (type, types.FunctionType)):
                checked += 1
                for key, text in annotations.items():
                    if re.search(r"\bAny\b", str(text)):
                        offenders.append(f"{where}: {key}: {text}")
            elif not callable(obj) or typing.get_origin(obj) is not None:
                offenders.extend(_any_in(obj, where))  # a type alias (Step, LawName, Array)
    assert checked > 60
    assert not offenders
