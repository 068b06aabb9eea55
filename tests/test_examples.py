"""The README's quick start runs as shown, trains a good digit classifier, and is the
same code as examples/quickstart.py."""

from __future__ import annotations

import ast
import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = "<!-- quickstart"


def readme_quickstart() -> str:
    """The body of the first ```python block after the quick-start marker in README.md."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert MARKER in text, "README.md lost its quick-start marker"
    after = text[text.index(MARKER) :]
    match = re.search(r"```python\n(.*?)```", after, flags=re.DOTALL)
    assert match is not None, "no ```python block after the quick-start marker"
    return match.group(1)


def script_without_docstring(path: Path) -> str:
    source = path.read_text(encoding="utf-8")
    tree = ast.parse(source)
    first = tree.body[0]
    assert isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    assert first.end_lineno is not None
    return "\n".join(source.splitlines()[first.end_lineno :]).lstrip("\n") + "\n"


def test_examples_quickstart_is_the_readme_block() -> None:
    assert script_without_docstring(ROOT / "examples" / "quickstart.py") == readme_quickstart()


def test_readme_quickstart_trains_a_digit_classifier() -> None:
    code = compile(readme_quickstart(), "README.md:quickstart", "exec")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(code, {"__name__": "__main__"})
    lines = out.getvalue().splitlines()
    epochs = [ln for ln in lines if ln.startswith("epoch")]
    assert 1 <= len(epochs) <= 30
    numbers = [re.findall(r"\d+\.\d+", ln) for ln in epochs]
    first_val, last_val = float(numbers[0][1]), float(numbers[-1][1])
    assert last_val < first_val  # the validation loss went down
    accuracy = re.fullmatch(r"validation accuracy: (\d\.\d{3})", lines[-1])
    assert accuracy is not None, lines[-1]
    assert float(accuracy.group(1)) >= 0.95
