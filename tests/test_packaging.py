"""Packaging contracts: environment.yml mirrors pyproject; the facade stays small."""
from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_mirrors_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_deps = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_deps) == sorted(project["dependencies"])
    assert "python=3.11" in env["dependencies"]


def test_public_facade_exports_exist():
    import lakekit

    missing = [name for name in lakekit.__all__ if not hasattr(lakekit, name)]
    assert missing == []
    assert len(lakekit.__all__) <= 25  # small enough for a trainee to read
