"""The snippets here are for mypy only (tests/test_typing.py); pytest must not import them."""

collect_ignore_glob = ["pass_*.py", "fail_*.py"]
