"""tests/conftest.py hands the longest test files to pytest-xdist first (see Makefile `test`)."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from tests import conftest

ROOT = Path(__file__).resolve().parents[1]


def test_every_longest_file_exists():  # a renamed file would silently go back to the end
    missing = [f for f in conftest.LONGEST_FILES if not (ROOT / f).is_file()]
    assert not missing, f"LONGEST_FILES names files that do not exist: {missing}"


def test_longest_files_first_then_files_with_more_tests_each_file_in_its_order():
    def item(rel: str, name: str):
        return SimpleNamespace(path=ROOT / rel, name=name)

    items = [item("tests/a/test_few.py", "f1"), item("tests/a/test_many.py", "m1"),
             item("tests/a/test_many.py", "m2"), item("tests/room/test_shared_account.py", "r1"),
             item("tests/notebooks/test_notebooks.py", "n1"), item("tests/a/test_few.py", "f2"),
             item("tests/a/test_many.py", "m3")]
    conftest._longest_files_first(SimpleNamespace(rootpath=ROOT), items)
    assert [i.name for i in items] == ["n1", "r1", "m1", "m2", "m3", "f1", "f2"]
