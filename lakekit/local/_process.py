"""Start, stop and inspect the local endpoint process (pidfile + log under LAKEKIT_HOME)."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from lakekit.config import LOCAL_ACCESS_KEY, LOCAL_SECRET_KEY, Settings, settings
from lakekit.exceptions import EndpointError, EndpointNotRunning, PortInUse

__all__ = ["Status", "up", "down", "status", "env_exports", "ensure_running"]

START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0


@dataclass
class Status:
    running: bool
    url: str
    pid: int | None
    uptime_seconds: float | None
    home: str
    log: str

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        if not self.running:
            return f"stopped (would serve {self.url}; state in {self.home})"
        return (f"running at {self.url} (pid {self.pid}, up {self.uptime_seconds:.0f} s; "
                f"state in {self.home}, log {self.log})")


def _paths(s: Settings) -> tuple[Path, Path]:
    return s.home / "endpoint.pid", s.home / "endpoint.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_ours(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return b"lakekit.local.server" in fh.read()
    except OSError:
        return _alive(pid)


def _health(url: str, timeout: float = 1.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{url}/_lakekit/health", timeout=timeout) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError):
        return None


def _read_pid(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def status(s: Settings | None = None) -> Status:
    """Running or stopped, with URL, pid and uptime. Cleans a stale pidfile."""
    s = s or settings()
    pidfile, logfile = _paths(s)
    url = s.endpoint_url or f"http://127.0.0.1:{s.port}"
    pid = _read_pid(pidfile)
    if pid is not None and not (_alive(pid) and _is_ours(pid)):
        pidfile.unlink(missing_ok=True)  # stale: the process is gone
        pid = None
    health = _health(url) if pid is not None else None
    running = health is not None and health.get("pid") == pid
    return Status(running, url, pid if running else None,
                  health.get("uptime_seconds") if running else None, str(s.home), str(logfile))


def _port_free(port: int) -> bool:
    """True when nothing listens on 127.0.0.1:port (half-closed old connections don't count)."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _wait_port_free(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not _port_free(port):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def up(s: Settings | None = None, quiet: bool = False) -> Status:
    """Start the endpoint in the background and wait until it answers. No-op if running."""
    s = s or settings()
    current = status(s)
    if current.running:
        if not quiet:
            print(f"lakekit local endpoint already {current}")
        return current
    pidfile, logfile = _paths(s)
    if current.pid is not None and _alive(current.pid):
        raise EndpointError(f"endpoint pid {current.pid} is alive but not answering on {current.url}; "
                            f"see {logfile}, then `lakekit local down` and `lakekit local up`.")
    if not _wait_port_free(s.port, 5.0):  # a just-killed endpoint may still be tearing down
        raise PortInUse(
            f"port {s.port} on 127.0.0.1 is used by another program. Stop it, or choose another "
            f"port: `LAKEKIT_PORT={s.port + 1} lakekit local up` (and use the same LAKEKIT_PORT "
            "in your notebooks' environment).")
    s.home.mkdir(parents=True, exist_ok=True)
    with open(logfile, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lakekit.local.server", "--port", str(s.port), "--home", str(s.home)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    pidfile.write_text(str(proc.pid))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pidfile.unlink(missing_ok=True)
            raise EndpointError(f"the local endpoint exited with code {proc.returncode} while starting. "
                                f"Last log lines ({logfile}):\n{_tail(logfile)}")
        health = _health(s.endpoint_url or "", timeout=0.5)
        if health and health.get("pid") == proc.pid:
            st = status(s)
            if not quiet:
                print(f"lakekit local endpoint {st}")
            return st
        time.sleep(0.2)
    _terminate(proc.pid)
    pidfile.unlink(missing_ok=True)
    raise EndpointError(f"the local endpoint did not answer within {START_TIMEOUT:.0f} s; "
                        f"log ({logfile}):\n{_tail(logfile)}")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _terminate(pid: int, timeout: float = STOP_TIMEOUT) -> bool:
    """SIGTERM (state is saved), then SIGKILL after ``timeout``. True if it exited cleanly."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not _alive(pid):
            return True
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return False


def down(s: Settings | None = None, quiet: bool = False) -> bool:
    """Stop the endpoint (state saved first). Returns True if one was running."""
    s = s or settings()
    pidfile, logfile = _paths(s)
    pid = _read_pid(pidfile)
    if pid is None or not _alive(pid) or not _is_ours(pid):
        pidfile.unlink(missing_ok=True)
        if not quiet:
            print("lakekit local endpoint: not running")
        return False
    clean = _terminate(pid)
    pidfile.unlink(missing_ok=True)
    if not quiet:
        print("lakekit local endpoint stopped" + ("" if clean else
              f" (forced after {STOP_TIMEOUT:.0f} s; the last changes may be lost, see {logfile})"))
    return True


def env_exports(s: Settings | None = None) -> str:
    """Shell lines that point the AWS CLI, SDKs and tools at the endpoint."""
    s = s or settings()
    url = s.endpoint_url or f"http://127.0.0.1:{s.port}"
    return "\n".join([
        f"export AWS_ENDPOINT_URL={url}",
        f"export AWS_ACCESS_KEY_ID={LOCAL_ACCESS_KEY}",
        f"export AWS_SECRET_ACCESS_KEY={LOCAL_SECRET_KEY}",
        f"export AWS_DEFAULT_REGION={s.region}",
        f"export AWS_REGION={s.region}",
        "export LAKEKIT_TARGET=local",
        f"export LAKEKIT_PORT={s.port}",
    ])


def ensure_running(s: Settings | None = None) -> Status:
    """On ``local``: start the endpoint unless it runs. On ``aws``: refuse (nothing local)."""
    s = s or settings()
    if not s.is_local:
        raise EndpointNotRunning("LAKEKIT_TARGET=aws: there is no local endpoint to start.")
    return up(s, quiet=True)
