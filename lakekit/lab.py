"""Start JupyterLab the way attendees use it (``make lab`` runs ``python -m lakekit.lab``).

* opens on ``00_setup.ipynb`` (``--LabApp.default_url``), serving the ``notebooks`` folder;
* adds ``--allow-root`` when it runs as root (containers and cloud desktops), which
  Jupyter Server otherwise refuses;
* greets nobody with JupyterLab's news prompt: the announcements plugin's settings
  (``@jupyterlab/apputils-extension:notification``: ``fetchNews`` "false",
  ``checkForUpdates`` false) are written to the ``overrides.json`` of the environment's
  application settings folder (``{sys.prefix}/share/jupyter/lab/settings``, JupyterLab's
  documented place for site-wide defaults), and the server never checks for updates.

Everything after the known options goes to ``jupyter lab`` unchanged, e.g.
``python -m lakekit.lab -- --ip=0.0.0.0`` in a container whose port is published.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["OVERRIDES", "DEFAULT_NOTEBOOK", "settings_dir", "write_overrides", "command", "main"]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_NOTEBOOK = "00_setup.ipynb"
NOTIFICATION_PLUGIN = "@jupyterlab/apputils-extension:notification"
#: Site-wide setting defaults: never fetch Jupyter news (no consent prompt), never check for updates.
OVERRIDES: dict[str, dict[str, object]] = {
    NOTIFICATION_PLUGIN: {"fetchNews": "false", "checkForUpdates": False},
}


def settings_dir(prefix: str | os.PathLike[str] | None = None) -> Path:
    """JupyterLab's application settings folder of an environment (holds ``overrides.json``)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings"


def write_overrides(directory: str | os.PathLike[str] | None = None) -> Path:
    """Write (merge) :data:`OVERRIDES` into ``directory/overrides.json``; returns the file.

    Other plugins' entries already in the file are kept; ours win for the keys we set.
    """
    path = Path(directory or settings_dir()) / "overrides.json"
    current: dict[str, dict[str, object]] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text() or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} is not valid JSON ({exc}); fix or delete it, then run "
                             "`make lab` again.") from exc
    for plugin, values in OVERRIDES.items():
        current[plugin] = {**current.get(plugin, {}), **values}
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
        log.info("wrote %s", path)
    return path


def command(notebook_dir: str | os.PathLike[str] | None = None, *, port: int | None = None,
            token: str | None = None, ip: str | None = None, open_browser: bool = True,
            settings: str | os.PathLike[str] | None = None, as_root: bool | None = None,
            extra: Sequence[str] = ()) -> list[str]:
    """The ``jupyter lab`` command line (run with this interpreter) for the given options.

    ``as_root`` defaults to "this process runs as root"; ``settings`` is the application
    settings folder holding our ``overrides.json`` (default: the environment's own).
    """
    if as_root is None:
        as_root = hasattr(os, "geteuid") and os.geteuid() == 0
    args = [sys.executable, "-m", "jupyterlab",
            f"--ServerApp.root_dir={Path(notebook_dir or ROOT / 'notebooks').resolve()}",
            f"--LabApp.default_url=/lab/tree/{DEFAULT_NOTEBOOK}",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    args.append(f"--LabApp.app_settings_dir={Path(settings or settings_dir()).resolve()}")
    if as_root:
        args.append("--allow-root")
    if port is not None:
        args.append(f"--ServerApp.port={port}")
        args.append("--ServerApp.port_retries=0")
    if ip is not None:
        args.append(f"--ServerApp.ip={ip}")
    if token is not None:
        args.append(f"--IdentityProvider.token={token}")
    if not open_browser:
        args.append("--no-browser")
    return [*args, *extra]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakekit.lab",
        description="Start JupyterLab on notebooks/00_setup.ipynb (no news prompt; --allow-root as root). "
                    "Arguments after -- go to `jupyter lab`.")
    parser.add_argument("--notebook-dir", default=str(ROOT / "notebooks"))
    parser.add_argument("--port", type=int)
    parser.add_argument("--ip")
    parser.add_argument("--token")
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--settings-dir", help="where overrides.json goes (default: this environment's "
                                               "share/jupyter/lab/settings)")
    parser.add_argument("--print", action="store_true", dest="dry_run",
                        help="print the command line instead of running it")
    ns, extra = parser.parse_known_args(argv)
    extra = [a for a in extra if a != "--"]
    settings = ns.settings_dir or settings_dir()
    write_overrides(settings)
    args = command(ns.notebook_dir, port=ns.port, token=ns.token, ip=ns.ip,
                   open_browser=not ns.no_browser,
                   settings=settings, extra=extra)
    if ns.dry_run:
        print(" ".join(args))
        return 0
    os.execv(args[0], args)  # the shell's Ctrl-C reaches JupyterLab itself
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main())
