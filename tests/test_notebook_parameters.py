"""Every notebook's first code cell is a papermill ``parameters`` cell that keeps the environment.

An attendee with ``LAKEKIT_TARGET=aws`` or her own ``LAKEKIT_PREFIX`` on a shared account must
not be switched back to the local endpoint or the shared prefix by a notebook's defaults.
"""
from __future__ import annotations

import ast

import nbformat
import pytest

from lakekit import workshop

BOOKS = workshop.notebooks()


@pytest.mark.parametrize("path", BOOKS, ids=[p.name for p in BOOKS])
def test_parameters_cell_keeps_the_environment(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "parameters" in code[0].metadata.get("tags", []), f"{path.name}: first code cell is not tagged 'parameters'"
    values = {}
    for node in ast.parse(code[0].source).body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            values[node.targets[0].id] = node.value.value
    assert {k: values.get(k) for k in ("target", "region", "prefix")} == {
        "target": "", "region": "", "prefix": ""}, f"{path.name}: {values}"
    assert nb.metadata.get("kernelspec", {}).get("name"), f"{path.name}: papermill needs a kernelspec"


def test_there_are_notebooks():
    assert len(BOOKS) >= 8 and BOOKS[0].name == "00_setup.ipynb"
