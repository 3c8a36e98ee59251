"""lakekit.orchestration (notebook 07's helpers) on recorded histories, and the workshop's knobs."""
from __future__ import annotations

import datetime as dt

import matplotlib

matplotlib.use("Agg")

from lakekit import orchestration, workshop  # noqa: E402
from lakekit.pipeline import TEMPLATE  # noqa: E402

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def _ev(i: int, kind: str, name: str | None = None, **details) -> dict:
    e = {"id": i, "type": kind, "timestamp": T0 + dt.timedelta(seconds=i)}
    if kind.endswith("StateEntered"):
        e["stateEnteredEventDetails"] = {"name": name}
    elif kind.endswith("StateExited"):
        e["stateExitedEventDetails"] = {"name": name}
    elif details:
        e["taskFailedEventDetails"] = details
    return e


#: the shape of notebook 07's broken execution: RunEtlJob denied, caught, notified, failed
CAUGHT = [_ev(1, "ExecutionStarted"), _ev(2, "PassStateEntered", "Configure"),
          _ev(3, "PassStateExited", "Configure"), _ev(4, "TaskStateEntered", "RunEtlJob"),
          _ev(5, "TaskScheduled"), _ev(6, "TaskFailed", error="Glue.AccessDeniedException", cause="no"),
          _ev(7, "TaskStateEntered", "NotifyFailure"), _ev(8, "TaskScheduled"), _ev(9, "TaskSucceeded"),
          _ev(10, "TaskStateExited", "NotifyFailure"), _ev(11, "FailStateEntered", "PipelineFailed"),
          _ev(12, "ExecutionFailed")]


def test_caught_failure_is_orange_fail_state_red_and_one_attempt():
    out = orchestration.state_outcomes(CAUGHT)
    assert out == {"Configure": "SUCCEEDED", "RunEtlJob": "CAUGHT", "NotifyFailure": "SUCCEEDED",
                   "PipelineFailed": "FAILED"}
    table = orchestration.history_table(CAUGHT)
    row = table.set_index("state").loc["RunEtlJob"]
    assert (row["attempts"], row["error"], row["outcome"], row["entered_s"]) == (
        1, "Glue.AccessDeniedException", "CAUGHT", 3.0)
    assert table["state"].tolist() == ["Configure", "RunEtlJob", "NotifyFailure", "PipelineFailed"]


def test_a_caught_state_that_records_its_exit_is_caught_too():
    """The local interpreter (moto's) records TaskStateExited after a caught TaskFailed; the
    state is CAUGHT either way (notebook 07's broken execution)."""
    events = CAUGHT[:6] + [_ev(6, "TaskStateExited", "RunEtlJob")] + CAUGHT[6:]
    assert orchestration.state_outcomes(events) == {
        "Configure": "SUCCEEDED", "RunEtlJob": "CAUGHT", "NotifyFailure": "SUCCEEDED", "PipelineFailed": "FAILED"}


def test_a_retry_that_succeeds_is_green_with_two_attempts():
    events = [_ev(1, "ExecutionStarted"), _ev(2, "TaskStateEntered", "RunEtlJob"), _ev(3, "TaskScheduled"),
              _ev(4, "TaskFailed", error="Glue.ConcurrentRunsExceededException"), _ev(5, "TaskScheduled"),
              _ev(6, "TaskSucceeded"), _ev(7, "TaskStateExited", "RunEtlJob"), _ev(8, "SucceedStateEntered", "Done"),
              _ev(9, "SucceedStateExited", "Done"), _ev(10, "ExecutionSucceeded")]
    assert orchestration.state_outcomes(events) == {"RunEtlJob": "SUCCEEDED", "Done": "SUCCEEDED"}
    row = orchestration.history_table(events).set_index("state").loc["RunEtlJob"]
    assert (row["attempts"], row["seconds"]) == (2, 5.0)


def test_uncaught_failure_and_a_running_state():
    failed = [_ev(1, "ExecutionStarted"), _ev(2, "TaskStateEntered", "A"), _ev(3, "TaskFailed", error="X"),
              _ev(4, "ExecutionFailed")]
    assert orchestration.state_outcomes(failed) == {"A": "FAILED"}
    assert orchestration.state_outcomes(failed[:2]) == {"A": "RUNNING"}


def test_graph_draws_every_top_level_state_of_the_pipeline_coloured():
    from cfnlint.decode import decode_str

    template, _ = decode_str(TEMPLATE.read_text())
    definition = template["Resources"]["PipelineStateMachine"]["Properties"]["Definition"]
    fig = orchestration.draw(definition, orchestration.state_outcomes(CAUGHT))
    ax = fig.axes[0]
    texts = {t.get_text().split("\n")[0] for t in ax.texts}
    assert set(definition["States"]) <= texts
    by_name = {name: box.get_facecolor() for name, box in fig.lakekit_states.items()}
    assert set(by_name) == set(definition["States"])
    to_rgba = matplotlib.colors.to_rgba
    assert by_name["RunEtlJob"] == to_rgba(orchestration.COLOURS["CAUGHT"])
    assert by_name["PipelineFailed"] == to_rgba(orchestration.COLOURS["FAILED"])
    assert by_name["Configure"] == to_rgba(orchestration.COLOURS["SUCCEEDED"])
    assert by_name["StartCrawler"] == to_rgba(orchestration.COLOURS[None])        # not run: grey
    layout = orchestration._layout(definition)
    assert layout["Configure"] == (0, 0) and layout["RunEtlJob"][0] == 1
    assert layout["GetCrawler"][0] > layout["WaitForCrawler"][0]      # the loop's back edge ignored


def test_workshop_environment_sets_the_knobs_but_keeps_values_already_set():
    env = {"LAKEKIT_SFN_TIME_SCALE": "1"}
    got = workshop.workshop_environment(env)
    assert got == {**workshop.WORKSHOP_TIME_KNOBS, "LAKEKIT_SFN_TIME_SCALE": "1"}
    assert env["LAKEKIT_EVENTS_TIME_SCALE"] == "1200" and env["LAKEKIT_CW_TIME_SCALE"] == "60"


def test_time_scales_are_empty_on_aws():
    from lakekit.config import settings

    assert orchestration.endpoint_time_scales(settings().with_(target="aws")) == {}


class _FakeSqs:
    def __init__(self, bodies: list[str]) -> None:
        self.bodies, self.deleted = bodies, []

    def receive_message(self, **_kw):
        out, self.bodies = self.bodies[:10], self.bodies[10:]
        return {"Messages": [{"Body": b, "ReceiptHandle": f"r{i}"} for i, b in enumerate(out)]}

    def delete_message(self, QueueUrl, ReceiptHandle):  # noqa: N803
        self.deleted.append(ReceiptHandle)


def test_read_inbox_keeps_what_did_not_match_for_the_next_read(monkeypatch):
    import json

    fake = _FakeSqs([json.dumps({"Subject": s}) for s in ("ALARM: x", "lakekit pipeline failed", "OK: x")])
    monkeypatch.setattr(orchestration, "_client", lambda service, s=None: fake)
    from lakekit.config import settings

    s = settings().with_(target="local")
    first = orchestration.read_inbox("q", timeout=0.5, s=s, match=lambda m: m["Subject"] == "lakekit pipeline failed")
    assert [m["Subject"] for m in first] == ["lakekit pipeline failed"]
    alarms = orchestration.read_inbox("q", want=2, timeout=0.5, s=s, match=lambda m: m["Subject"].endswith(": x"))
    assert [m["Subject"] for m in alarms] == ["ALARM: x", "OK: x"]      # not lost by the first read
    assert len(fake.deleted) == 3
