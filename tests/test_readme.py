"""The README's code blocks marked as executed run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def marked_blocks(marker: str) -> list[str]:
    text = README.read_text(encoding="utf-8")
    return re.findall(rf"<!-- {re.escape(marker)} -->\n```python\n(.*?)```", text, re.S)


def test_the_core_section_runs_as_written(capsys: pytest.CaptureFixture[str]) -> None:
    (block,) = marked_blocks("executed by tests/test_readme.py")
    exec(compile(block, str(README), "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert re.match(r"after \d+ epochs \(\d+ steps\): loss \d\.\d{4}", printed)
