"""Warm Glue drivers: a job run reuses the Python driver and JVM an earlier run left idle.

A cold local run starts ``python <script>`` and, inside it, a JVM whose code is not compiled yet:
at 1x the workshop job spent 11.0 s on its 16-row airlines table in a cold JVM and 3.0 s in a warm
one, and the whole job's script took 0.65x the time warm (``benchmarks/glue_job.py`` prints both).
Glue itself starts every run on fresh workers; this pool is a local speed-up only, so it keeps
what a run can see as a fresh driver would show it (see :mod:`lakekit.local.glue.warm_driver`
for what is reset between runs, and the parity ledger for what is not):

- **Key**: what the driver's JVM was started with (Spark settings, Java, Python, ``PYTHONPATH``).
  A run takes an idle driver of its key, else starts a new one at once, before its inputs are
  staged, so the JVM starts while the stage downloads.
- **Eligible scripts**: a script whose code builds its own ``SparkConf``, calls
  ``SparkContext(...)`` or ``.config(...)`` gets a cold process (:func:`eligible`): settings that
  only a new SparkContext takes would be ignored by a warm one.
- **Ahead of the first run**: when a Spark job (``glueetl``) is created, a driver of the
  endpoint's key starts and warms its JVM up on generated rows (:meth:`Pool.prewarm`;
  ``LAKEKIT_GLUE_PREWARM=0`` turns it off, as the test suite does for its many endpoints).
- **Size**: at most ``LAKEKIT_GLUE_WARM_DRIVERS`` (default 1; ``0`` = every run cold) idle
  drivers per key; a driver is stopped after ``LAKEKIT_GLUE_WARM_IDLE_S`` (default 600) idle
  seconds, after 20 runs, when its script stopped the SparkContext, failed to reset, was stopped
  (BatchStopJobRun), timed out or died. Every driver dies with the endpoint (``atexit``, and
  ``PR_SET_PDEATHSIG`` through the spawner thread).

Example (what :mod:`lakekit.local.services.glue_jobs` does for one run)::

    lease = POOL.lease(env) if eligible(script_text) else None
    proc = lease.start(script, argv, env, work) if lease else RunningProcess(cmd, env, work)
    result = proc.wait(timeout)           # a jobrunner.ProcessResult either way
"""
from __future__ import annotations

import atexit
import io
import json
import logging
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import tokenize
from pathlib import Path
from typing import Any

from lakekit.local.glue import jobrunner

__all__ = ["POOL", "Pool", "Lease", "WarmRun", "eligible", "idle_drivers", "idle_seconds", "prewarm_enabled"]

log = logging.getLogger(__name__)

DRIVER = Path(__file__).resolve().parent / "warm_driver.py"
MARK = "\x1e\x1elakekit-warm"
_PER_RUN = ("LAKEKIT_GLUE_RUNTIME", "LAKEKIT_GLUE_DQ_DIR")
RESET_WAIT_SECONDS = 120.0
"""How long a run waits for a driver of its key that is resetting after a run or warming up,
before it starts a new one (a reset takes about a second, a warm-up 10-30 s; a new driver's
JVM would compete with it for the same cores)."""
_KEY_VARS = ("PYSPARK_SUBMIT_ARGS", "JAVA_HOME", "PYSPARK_PYTHON", "PYTHONPATH", "SPARK_LOCAL_IP", "TZ")


def _setting(name: str, default: float) -> float:
    """A non-negative number from the endpoint's environment; ``default`` when unset or not one."""
    try:
        return max(0.0, float(os.environ.get(name, default)))
    except ValueError:
        return default


def idle_drivers() -> int:
    """Idle drivers kept per key (``LAKEKIT_GLUE_WARM_DRIVERS``, default 1; 0 = always cold)."""
    return int(_setting("LAKEKIT_GLUE_WARM_DRIVERS", 1))


def idle_seconds() -> float:
    """Idle time after which a driver is stopped (``LAKEKIT_GLUE_WARM_IDLE_S``, default 600)."""
    return _setting("LAKEKIT_GLUE_WARM_IDLE_S", 600.0)


def prewarm_enabled() -> bool:
    """Start a driver when a Spark job is created (``LAKEKIT_GLUE_PREWARM``, default 1; 0 = off)."""
    return os.environ.get("LAKEKIT_GLUE_PREWARM", "1").strip() not in ("0", "false", "no", "")


def eligible(script_text: str) -> bool:
    """A script may run in a warm driver unless its code configures the SparkContext it starts:
    ``SparkConf``, ``SparkContext(...)``, ``.config(...)`` (comments and strings do not count).

    >>> eligible("sc = SparkContext.getOrCreate()  # not SparkContext(conf)")
    True
    >>> eligible("SparkSession.builder.config('a', 1)"), eligible("sc = SparkContext()")
    (False, False)
    """
    if idle_drivers() <= 0:
        return False
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(script_text).readline)
                  if t.type in (tokenize.NAME, tokenize.OP)]
    except (tokenize.TokenError, SyntaxError):
        return False  # Python will say what is wrong, in a cold process as before
    for i, tok in enumerate(tokens):
        following = tokens[i + 1].string if i + 1 < len(tokens) else ""
        if tok.type != tokenize.NAME:
            continue
        if tok.string == "SparkConf" or (tok.string == "SparkContext" and following == "("):
            return False
        if tok.string == "config" and following == "(" and i and tokens[i - 1].string == ".":
            return False
    return True


def _key(env: dict[str, str]) -> tuple[str, ...]:
    return tuple(env.get(k, "") for k in _KEY_VARS)


class _Driver:
    """One warm driver process: commands on stdin, replies on a pipe, output split by marks."""

    def __init__(self, key: tuple[str, ...], env: dict[str, str], root: Path) -> None:
        self.key = key
        self.runs = 0
        self.idle_since = time.monotonic()
        self.work = Path(tempfile.mkdtemp(prefix="driver-", dir=root))
        (self.work / "tmp").mkdir()
        base = {k: v for k, v in env.items() if not k.startswith("AWS_") and k not in _PER_RUN}
        base.update(TMPDIR=str(self.work / "tmp"), SPARK_LOCAL_DIRS=str(self.work / "tmp"))
        read_fd, write_fd = os.pipe()
        base["LAKEKIT_WARM_REPLY_FD"] = str(write_fd)
        try:
            self.proc = jobrunner.SPAWNER.popen(
                [sys.executable, str(DRIVER)], cwd=str(self.work), env=base, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(write_fd,),
                start_new_session=True)
        finally:
            os.close(write_fd)
        self.replies: queue.Queue[dict[str, Any]] = queue.Queue()
        self._lock = threading.Lock()
        self._sinks: dict[str, list[tuple[int, str]]] = {}
        self._ended: dict[str, threading.Event] = {}
        self.startup: list[str] = []   # what it printed outside any run (the last 200 lines)
        for name, stream in (("stdout", self.proc.stdout), ("stderr", self.proc.stderr)):
            threading.Thread(target=self._read, args=(name, stream), daemon=True).start()
        threading.Thread(target=self._replies, args=(read_fd,), daemon=True).start()

    def _read(self, name: str, stream: Any) -> None:
        sink: list[tuple[int, str]] | None = None
        blank = False   # an empty line held back: the newline the driver writes before a mark
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            at = line.find(MARK)   # after output that ended without a newline, the mark is inside
            if blank and at < 0 and sink is not None:
                sink.append((int(time.time() * 1000), ""))
            blank = not line and at < 0
            if blank:
                continue
            if at >= 0:
                before, line = line[:at], line[at:]
                if before.strip("\r ") and sink is not None:
                    sink.append((int(time.time() * 1000), before))
                _, what, run = line.split(" ", 2)
                with self._lock:
                    sink = self._sinks.get(f"{run}/{name}") if what == "start" else None
                    if what == "end" and f"{run}/{name}" in self._ended:
                        self._ended[f"{run}/{name}"].set()
                continue
            if sink is not None:
                sink.append((int(time.time() * 1000), line))
            else:
                self.startup = (self.startup + [line])[-200:]
        stream.close()
        with self._lock:
            for event in self._ended.values():
                event.set()

    def _replies(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as fh:
            for raw in fh:
                try:
                    self.replies.put(json.loads(raw))
                except ValueError:
                    continue
        self.replies.put({"eof": True})

    def next_reply(self, deadline: float | None) -> dict[str, Any] | None:
        """The driver's next reply; None when ``deadline`` (monotonic) passed first."""
        while True:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                return None
            try:
                return self.replies.get(timeout=min(wait, 0.5) if wait is not None else 0.5)
            except queue.Empty:
                if self.proc.poll() is not None and self.replies.empty():
                    return {"eof": True}

    def send(self, run: str, spec: dict[str, Any], stdout: list, stderr: list) -> None:
        with self._lock:
            self._sinks[f"{run}/stdout"], self._sinks[f"{run}/stderr"] = stdout, stderr
            self._ended[f"{run}/stdout"], self._ended[f"{run}/stderr"] = threading.Event(), threading.Event()
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({**spec, "run": run}) + "\n").encode())
        self.proc.stdin.flush()

    def wait_ended(self, run: str, seconds: float) -> None:
        """Wait until both streams showed the run's end mark (or closed): its output is complete."""
        deadline = time.monotonic() + seconds
        for name in ("stdout", "stderr"):
            if not self._ended[f"{run}/{name}"].wait(max(0.0, deadline - time.monotonic())):
                log.warning("warm Glue driver %d: no end mark on %s of run %s after %.0f s; its "
                            "output may be incomplete", self.proc.pid, name, run, seconds)

    def kill(self) -> None:
        jobrunner.kill_group(self.proc)

    def close(self) -> None:
        """Stop the driver and its JVM, and remove its folder."""
        self.kill()
        try:
            self.proc.wait(timeout=jobrunner._GROUP_EXIT_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            pass
        jobrunner._wait_group_gone(self.proc.pid)
        shutil.rmtree(self.work, ignore_errors=True)


class WarmRun:
    """A script run in a warm driver, with :class:`jobrunner.RunningProcess`'s ``stop``/``wait``."""

    def __init__(self, pool: Pool, driver: _Driver, fresh: bool, script: Path, argv: list[str],
                 env: dict[str, str], cwd: Path) -> None:
        self.pool, self.driver, self.fresh = pool, driver, fresh
        self.spec = {"script": str(script), "argv": list(argv), "env": dict(env), "cwd": str(cwd)}
        self.cmd, self.env, self.cwd = [sys.executable, str(script), *argv], env, cwd
        self.started = time.monotonic()
        self.stopped = False
        self.stdout: list[tuple[int, str]] = []
        self.stderr: list[tuple[int, str]] = []
        self.cold: jobrunner.RunningProcess | None = None
        self.note = ""
        """How the run was served (for the run's system log)."""

    def stop(self) -> None:
        self.stopped = True
        if self.cold is not None:
            self.cold.stop()
        self.driver.kill()

    def wait(self, timeout_seconds: float | None) -> jobrunner.ProcessResult:
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        reply = self.driver.next_reply(deadline) if self.fresh else {"ready": True}
        if reply is None or self.stopped:   # timed out or stopped while the JVM started
            self.pool.discard(self.driver)
            return self._result(-9, timed_out=not self.stopped, peak_kb=0)
        if not reply.get("ready"):           # the driver could not start: run cold, as before
            why = reply.get("retire") or "it exited"
            log.warning("warm Glue driver did not start (%s): running the script cold; its output: %s",
                        why, " | ".join(self.driver.startup[-5:]))
            self.pool.discard(self.driver)
            self.note = f"cold process (the warm driver did not start: {why})"
            self.cold = jobrunner.RunningProcess(self.cmd, self.env, self.cwd)
            if self.stopped:
                self.cold.stop()
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            return self.cold.wait(left)
        self.driver.runs += 1
        self.note = (f"warm driver (pid {self.driver.proc.pid}), its run {self.driver.runs}"
                     + (": started for this run" if self.fresh else ""))
        run = f"r{self.driver.runs}"
        self.driver.send(run, self.spec, self.stdout, self.stderr)
        peak_kb, rc, timed_out = 0, None, False
        while rc is None:
            peak_kb = max(peak_kb, jobrunner._group_rss_kb(self.driver.proc.pid))
            step = time.monotonic() + 0.5
            reply = self.driver.next_reply(step if deadline is None else min(step, deadline))
            if reply is None:
                if deadline is not None and time.monotonic() >= deadline:
                    timed_out = True
                    self.driver.kill()
                continue
            if "rc" in reply:
                rc = int(reply["rc"])
            elif reply.get("eof"):   # the driver died in the run (os._exit, a crash, a kill)
                self.driver.kill()
                self.driver.proc.wait()
                rc = self.driver.proc.returncode
        self.driver.wait_ended(run, 60.0)
        if rc is not None and not (timed_out or self.stopped) and self.driver.proc.poll() is None:
            threading.Thread(target=self.pool.release, args=(self.driver,), daemon=True).start()
        else:
            self.pool.discard(self.driver)
        return self._result(rc if rc is not None else -9, timed_out=timed_out and not self.stopped,
                            peak_kb=peak_kb)

    def _result(self, rc: int, *, timed_out: bool, peak_kb: int) -> jobrunner.ProcessResult:
        return jobrunner.ProcessResult(rc, timed_out, self.stopped, self.stdout, self.stderr,
                                       peak_kb // 1024, time.monotonic() - self.started)


class Lease:
    """A driver taken for one run; :meth:`start` runs the script, :meth:`cancel` gives it back."""

    def __init__(self, pool: Pool, driver: _Driver, fresh: bool) -> None:
        self.pool, self.driver, self.fresh = pool, driver, fresh
        self.used = False

    def start(self, script: Path, argv: list[str], env: dict[str, str], cwd: Path) -> WarmRun:
        self.used = True
        return WarmRun(self.pool, self.driver, self.fresh, script, argv, env, cwd)

    def cancel(self) -> None:
        """The run ended before its script: a started driver goes back to the pool."""
        if not self.used:
            self.used = True
            threading.Thread(target=self.pool.release, args=(self.driver, self.fresh), daemon=True).start()


class Pool:
    """Idle warm drivers per key, reaped after :func:`idle_seconds`."""

    def __init__(self) -> None:
        self._idle: list[_Driver] = []
        self._busy: set[_Driver] = set()
        self._resetting: set[_Driver] = set()   # busy, finished a run, not ready yet
        self._cond = threading.Condition()
        self._reaper: threading.Thread | None = None
        self._root: Path | None = None

    def lease(self, env: dict[str, str]) -> Lease:
        """An idle driver of ``env``'s key, else a new one (its JVM starts now)."""
        key = _key(env)
        deadline = time.monotonic() + RESET_WAIT_SECONDS
        with self._cond:
            while True:
                for driver in reversed(self._idle):
                    if driver.key == key and driver.proc.poll() is None:
                        self._idle.remove(driver)
                        self._busy.add(driver)
                        return Lease(self, driver, False)
                # a driver of this key that just finished a run is resetting: worth a short wait
                left = deadline - time.monotonic()
                if left <= 0 or not any(d.key == key for d in self._resetting):
                    break
                self._cond.wait(timeout=left)
        return Lease(self, self._start(key, env, warming=False), True)

    def _start(self, key: tuple[str, ...], env: dict[str, str], warming: bool) -> _Driver:
        """A new driver, busy (and ``warming``: runs of its key wait for it, see :meth:`lease`)."""
        with self._cond:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="lakekit-glue-warm-"))
            root = self._root
        driver = _Driver(key, env, root)
        with self._cond:
            self._busy.add(driver)
            if warming:
                self._resetting.add(driver)
            self._start_reaper()
        return driver

    def prewarm(self, env: dict[str, str]) -> bool:
        """Start a driver of ``env``'s key ahead of any run and warm its JVM up (in the
        background); False when the key has a driver already or warm drivers are off."""
        if idle_drivers() <= 0 or not prewarm_enabled():
            return False
        key = _key(env)
        with self._cond:
            if any(d.key == key for d in [*self._idle, *self._busy]):
                return False
        driver = self._start(key, env, warming=True)   # a run that comes meanwhile waits for it

        def warm() -> None:
            reply = driver.next_reply(time.monotonic() + 300)
            try:
                if not (reply and reply.get("ready")):
                    raise OSError(reply.get("retire") if reply else "no answer in 300 s")
                assert driver.proc.stdin is not None
                driver.proc.stdin.write(b'{"warmup": true}\n')
                driver.proc.stdin.flush()
            except OSError as exc:
                log.warning("warm Glue driver %d did not start (%s): the next run starts one",
                            driver.proc.pid, exc)
                with self._cond:
                    self._resetting.discard(driver)
                    self._cond.notify_all()
                self.discard(driver)
                return
            log.info("warm Glue driver %d started ahead of a run: warming up", driver.proc.pid)
            self.release(driver)

        threading.Thread(target=warm, name="glue-prewarm", daemon=True).start()
        return True

    def release(self, driver: _Driver, wait_ready: bool = True) -> None:
        """After a run (or an unused lease): keep the driver once it is ready, if there is room."""
        with self._cond:
            self._resetting.add(driver)
        reply: dict[str, Any] | None = None
        keep = False
        try:
            reply = driver.next_reply(time.monotonic() + 600) if wait_ready else {"ready": True}
        finally:
            # one step: a run waiting in lease() must find the driver idle once it is not resetting
            with self._cond:
                self._resetting.discard(driver)
                if reply and reply.get("ready"):
                    self._busy.discard(driver)
                    keep = len([d for d in self._idle if d.key == driver.key]) < idle_drivers()
                    if keep:
                        driver.idle_since = time.monotonic()
                        self._idle.append(driver)
                self._cond.notify_all()
        if reply and "warmed_s" in reply:
            log.info("warm Glue driver %d warmed up in %.1f s", driver.proc.pid, reply["warmed_s"])
        if reply and reply.get("retire"):
            log.info("warm Glue driver %d retired: %s", driver.proc.pid, reply["retire"])
        if not keep:
            self.discard(driver)

    def discard(self, driver: _Driver) -> None:
        with self._cond:
            self._busy.discard(driver)
            if driver in self._idle:
                self._idle.remove(driver)
        driver.close()

    def _start_reaper(self) -> None:
        if self._reaper is None:
            self._reaper = threading.Thread(target=self._reap_loop, name="glue-warm-reaper", daemon=True)
            self._reaper.start()

    def _reap_loop(self) -> None:
        while True:
            idle = idle_seconds()
            with self._cond:
                self._cond.wait(timeout=min(max(idle / 4, 0.2), 5.0))
                now = time.monotonic()
                expired = [d for d in self._idle if now - d.idle_since >= idle or d.proc.poll() is not None]
                for d in expired:
                    self._idle.remove(d)
            for d in expired:
                log.info("warm Glue driver %d idle for %.0f s: stopped", d.proc.pid, idle)
                d.close()

    def shutdown(self) -> None:
        """Kill every driver, idle or busy (the endpoint is stopping)."""
        with self._cond:
            everything = self._idle + list(self._busy)
            self._idle, self._busy = [], set()
        for d in everything:
            d.kill()
        if self._root is not None:   # the drivers' folders (Spark's local dirs among them)
            shutil.rmtree(self._root, ignore_errors=True)


POOL = Pool()
atexit.register(POOL.shutdown)
