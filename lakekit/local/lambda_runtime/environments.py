"""Warm Lambda execution environments: long-lived bootstrap processes, pooled per function.

As on AWS, an execution environment runs the init phase (interpreter start + handler module
import, limited to ``INIT_LIMIT_SECONDS`` = 10 s) once, then serves invocations one at a time,
keeping module globals, ``/tmp`` and its log stream between them:

- **Pool key**: function ARN + version, and everything the environment was started with —
  code sha256, handler, runtime, role, timeout, memory, environment variables, endpoint URL
  and the role credentials handed to it at init. Any change (UpdateFunctionCode,
  UpdateFunctionConfiguration) gets new environments; idle ones of the old key are stopped at
  once, busy ones when they finish. AWS refreshes an environment's credentials in place;
  here an environment whose credentials expire within ``CREDENTIALS_MARGIN_S`` (4 min) is
  replaced instead (the cached role session is renewed 5 min before expiry, so the new
  environment gets fresh ones).
- **Concurrency**: at most ``LAKEKIT_LAMBDA_CONCURRENCY`` (default 4) environments per
  function version; an environment is busy while invoking; a further invocation waits for a
  free one (AWS would start another environment, up to the account's 1,000).
- **Reaping**: an environment idle for ``LAKEKIT_LAMBDA_IDLE_S`` seconds (default 60; AWS
  keeps them for minutes, unspecified) is stopped; the next invocation is a cold start.
- **Failures**: a timeout or a crash (the process exited, e.g. ``sys.exit``) kills the
  environment's whole process group; the next invocation is cold, as on AWS. A handler
  exception keeps the environment.
- **Shutdown**: every environment is killed when the endpoint exits (``atexit``); if the
  endpoint itself is killed, ``PR_SET_PDEATHSIG`` (set by the exec wrapper shared with the Glue
  job runner) kills each bootstrap, and a bootstrap also exits when its request pipe closes.
  Processes are started from one long-lived thread because the death signal follows the
  thread that forked the child, and request threads are short-lived.
"""
from __future__ import annotations

import atexit
import base64
import json
import logging
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any

from lakekit.local.glue.jobrunner import SPAWNER, kill_group

__all__ = ["Environment", "Invocation", "POOL", "Pool", "concurrency_limit", "idle_seconds"]

log = logging.getLogger("lakekit.local.lambda")

MARK = "\x1e\x1elakekit"
INIT_ID = "-"
CREDENTIALS_MARGIN_S = 240.0
"""An environment is not reused when its role credentials expire within this many seconds."""


def concurrency_limit() -> int:
    """Environments per function version (``LAKEKIT_LAMBDA_CONCURRENCY``, default 4)."""
    try:
        return max(1, int(os.environ.get("LAKEKIT_LAMBDA_CONCURRENCY", "4")))
    except ValueError:
        return 4


def idle_seconds() -> float:
    """Idle time after which an environment is stopped (``LAKEKIT_LAMBDA_IDLE_S``, default 60)."""
    try:
        return max(0.0, float(os.environ.get("LAKEKIT_LAMBDA_IDLE_S", "60")))
    except ValueError:
        return 60.0




class Invocation:
    """What one request to an environment produced."""

    def __init__(self) -> None:
        self.status = "eof"                    # done | timeout | eof
        self.started_at: float | None = None   # epoch s, handler start
        self.deadline: float | None = None
        self.ended = 0.0
        self.result: dict[str, Any] = {}
        self.before: list[tuple[int, str]] = []   # lines before START (init output on a cold start)
        self.lines: list[tuple[int, str]] = []    # the handler's lines
        self.peak_mb = 0
        self.returncode: int | None = None


class Environment:
    """One bootstrap process and its pipes; used by one invocation at a time."""

    def __init__(self, key: Hashable, fn_id: Hashable, stream: str, work: Path,
                 usable_until: float = float("inf")) -> None:
        self.key, self.fn_id, self.stream, self.work = key, fn_id, stream, work
        self.usable_until = usable_until   # epoch s: its role credentials are about to expire
        self.proc: subprocess.Popen | None = None
        self.cond = threading.Condition()
        self.lines: list[tuple[int, str]] = []
        self.marks: dict[tuple[str, str], tuple[int, float, str]] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.res_eof = False
        self.consumed = 0
        self.busy = True
        self.dead = False
        self.idle_since = time.monotonic()
        self.spawned_at = 0.0
        self.init_done_at = 0.0
        self.logs_ready = False            # log group/stream created
        self._ctl: Any = None
        self._threads: list[threading.Thread] = []

    # -- process ----------------------------------------------------------------------
    def launch(self, cmd: list[str], env: dict[str, str], cwd: Path) -> None:
        ctl_r, ctl_w = os.pipe()
        res_r, res_w = os.pipe()
        env = {**env, "_LAKEKIT_CTL_FD": str(ctl_r), "_LAKEKIT_RES_FD": str(res_w)}
        self.spawned_at = time.time()
        try:
            self.proc = SPAWNER.popen(cmd, cwd=str(cwd), env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       start_new_session=True, pass_fds=(ctl_r, res_w))
        except BaseException:
            for fd in (ctl_w, res_r):
                os.close(fd)
            raise
        finally:
            os.close(ctl_r)
            os.close(res_w)
        self._ctl = os.fdopen(ctl_w, "wb")
        res = os.fdopen(res_r, "rb")
        self._threads = [threading.Thread(target=self._read_out, daemon=True, name="lambda-env-out"),
                         threading.Thread(target=self._read_res, args=(res,), daemon=True,
                                          name="lambda-env-res")]
        for t in self._threads:
            t.start()

    def _read_out(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            now = time.time()
            with self.cond:
                if MARK not in line:
                    self.lines.append((int(now * 1000), line))
                    continue
                head, _, rest = line.partition(MARK)
                if head:
                    self.lines.append((int(now * 1000), head))
                elif len(self.lines) > self.consumed and self.lines[-1][1] == "":
                    self.lines.pop()  # the newline the mark is prefixed with
                kind, _, arg = rest.strip().partition(" ")
                rid, _, extra = arg.partition(" ")
                self.marks[(kind, rid)] = (len(self.lines), now, extra.strip())
                self.cond.notify_all()
        self.proc.stdout.close()

    def _read_res(self, res: Any) -> None:
        for raw in res:
            try:
                msg = json.loads(raw)
            except ValueError:
                continue
            with self.cond:
                self.results[str(msg.get("rid", ""))] = msg
                self.cond.notify_all()
        res.close()
        with self.cond:
            self.res_eof = True
            self.cond.notify_all()

    def _wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(lambda: predicate() or self.res_eof, timeout=max(timeout, 0.0)) \
                and predicate()

    def wait_init(self, limit: float) -> tuple[str, dict[str, Any]]:
        """``("ok"|"error"|"eof"|"timeout", init result)`` once the init phase ended."""
        done = self._wait(lambda: INIT_ID in self.results and ("init", INIT_ID) in self.marks, limit)
        self.init_done_at = time.time()
        with self.cond:
            result = self.results.get(INIT_ID, {})
            if done:
                return ("ok" if result.get("ok") else "error"), result
            return ("eof" if self.res_eof else "timeout"), result

    def invoke(self, request_id: str, payload: bytes, timeout_s: int, arn: str,
               client_context: str | None, start_limit: float) -> Invocation:
        """Send one request and wait for its outcome (``timeout_s`` from the handler's start)."""
        inv = Invocation()
        request = {"rid": request_id, "payload": base64.b64encode(payload).decode(),
                   "timeout_ms": timeout_s * 1000, "arn": arn, "client_context": client_context or ""}
        try:
            self._ctl.write(json.dumps(request).encode() + b"\n")
            self._ctl.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass  # the process is gone: res_eof follows
        started = self._wait(lambda: ("start", request_id) in self.marks, start_limit)
        if started:
            _, at, extra = self.marks[("start", request_id)]
            inv.started_at = at
            try:
                inv.deadline = int(extra) / 1000
            except ValueError:
                inv.deadline = at + timeout_s
            finished = self._wait(lambda: request_id in self.results
                                  and ("end", request_id) in self.marks,
                                  inv.deadline - time.time() + 0.02)
        else:
            finished = False
        with self.cond:
            gone = self.res_eof
        if finished:
            inv.status = "done"
        elif gone:
            inv.status = "eof"
        else:
            inv.status = "timeout"
            inv.peak_mb = _peak_rss_mb(self.proc.pid) if self.proc else 0
        if inv.status == "eof":
            self.exited(grace=5.0)
        if inv.status != "done":
            self.kill()
        inv.ended = time.time()
        with self.cond:
            start_idx = self.marks.get(("start", request_id), (len(self.lines), 0.0, ""))[0]
            end_idx = self.marks.get(("end", request_id), (len(self.lines), 0.0, ""))[0]
            if not started:
                start_idx = end_idx = len(self.lines)
            inv.before = self.lines[self.consumed:start_idx]
            inv.lines = self.lines[start_idx:end_idx]
            inv.result = self.results.pop(request_id, {})
            self.consumed = end_idx
        inv.returncode = self.proc.returncode if self.proc else None
        return inv

    def take_lines(self) -> list[tuple[int, str]]:
        """Lines not handed out yet (the init output of a failed init)."""
        with self.cond:
            out = self.lines[self.consumed:]
            self.consumed = len(self.lines)
        return out

    def exited(self, grace: float) -> int | None:
        """The process's exit status once it ended by itself (``None`` if still running)."""
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """Kill the process group, wait for it, collect the remaining output, remove /tmp."""
        self.dead = True
        if self.proc is not None:
            kill_group(self.proc)
            self.proc.wait()
            for t in self._threads:
                t.join(timeout=5)
            try:
                self._ctl.close()
            except (OSError, ValueError):
                pass
        shutil.rmtree(self.work, ignore_errors=True)

    def close(self) -> None:
        """Stop an idle environment: close its request pipe, then kill what is left."""
        try:
            self._ctl.close()
        except (OSError, ValueError, AttributeError):
            pass
        self.kill()


def _peak_rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError):
        pass
    return 0


class Pool:
    """All environments of the endpoint, grouped by function version."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._envs: dict[Hashable, list[Environment]] = {}
        self._latest: dict[Hashable, Hashable] = {}
        self._reaper: threading.Thread | None = None

    def acquire(self, fn_id: Hashable, key: Hashable,
                new: Callable[[], Environment]) -> tuple[Environment, bool]:
        """A free environment for ``key`` (warm, ``False``) or a new unlaunched one (``True``);
        waits while the function version has ``concurrency_limit()`` busy environments."""
        stale: list[Environment] = []
        try:
            with self._cond:
                while True:
                    self._latest[fn_id] = key
                    envs = self._envs.setdefault(fn_id, [])
                    now = time.time()
                    for e in list(envs):
                        if e.dead or (not e.busy and (e.key != key or e.usable_until <= now)):
                            envs.remove(e)
                            stale.append(e)
                    for e in reversed(envs):  # the most recently used first
                        if not e.busy and e.key == key:
                            e.busy = True
                            return e, False
                    if len(envs) < concurrency_limit():
                        env = new()
                        env.busy = True
                        envs.append(env)
                        self._start_reaper()
                        return env, True
                    self._cond.wait(timeout=1.0)
        finally:
            for e in stale:
                e.close()

    def release(self, env: Environment) -> None:
        """The invocation finished: the environment is idle (or stopped if dead or outdated)."""
        with self._cond:
            env.busy = False
            env.idle_since = time.monotonic()
            stop = (env.dead or self._latest.get(env.fn_id) != env.key
                    or env.usable_until <= time.time())
            if stop:
                envs = self._envs.get(env.fn_id, [])
                if env in envs:
                    envs.remove(env)
            self._cond.notify_all()
        if stop and not env.dead:
            env.close()

    def count(self, fn_id: Hashable) -> int:
        with self._cond:
            return len(self._envs.get(fn_id, []))

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_loop, name="lambda-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while True:
            idle = idle_seconds()
            with self._cond:
                self._cond.wait(timeout=min(max(idle / 4, 0.2), 5.0))
                now = time.monotonic()
                expired = []
                for envs in self._envs.values():
                    for e in list(envs):
                        if not e.busy and now - e.idle_since >= idle:
                            envs.remove(e)
                            expired.append(e)
            for e in expired:
                log.info("lambda environment of %s idle for %.0f s: stopped", e.fn_id, idle)
                e.close()

    def shutdown(self) -> None:
        """Kill every environment, busy or not (the endpoint is stopping)."""
        with self._cond:
            everything = [e for envs in self._envs.values() for e in envs]
            self._envs.clear()
            self._cond.notify_all()
        for e in everything:
            e.kill()


POOL = Pool()
atexit.register(POOL.shutdown)
