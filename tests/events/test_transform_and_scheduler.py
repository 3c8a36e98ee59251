"""Target input (Input / InputPath / InputTransformer) and the scheduler on a fake clock."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from lakekit.local.events import envelope
from lakekit.local.events.delivery import RuleView
from lakekit.local.events.scheduler import Clock, Scheduler
from lakekit.local.events.transform import target_input

RULE = "arn:aws:events:us-east-1:123456789012:rule/r1"
EC2 = {"version": "0", "id": "7bf73129-1428-4cd3-a780-95db273d1602",
       "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
       "account": "123456789012", "time": "2015-11-11T21:29:54Z", "region": "us-east-1",
       "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
       "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
       "ingestion-time": 1447277394.0}
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state"}


def render(template: str, paths: dict[str, str] | None = None) -> str:
    return target_input({"InputTransformer": {"InputPathsMap": PATHS if paths is None else paths,
                                              "InputTemplate": template}},
                        EC2, rule_arn=RULE, rule_name="r1")


def test_whole_event_without_input_settings_and_no_ingestion_time():
    sent = json.loads(target_input({"Id": "t", "Arn": "x"}, EC2, rule_arn=RULE, rule_name="r1"))
    assert sent == {k: v for k, v in EC2.items() if k != "ingestion-time"}


def test_input_and_input_path():
    assert target_input({"Input": '{"api_url": "http://x"}'}, EC2, rule_arn=RULE, rule_name="r1") \
        == '{"api_url": "http://x"}'
    assert json.loads(target_input({"InputPath": "$.detail"}, EC2, rule_arn=RULE, rule_name="r1")) \
        == {"instance-id": "i-0123456789", "state": "RUNNING"}
    assert target_input({"InputPath": "$.detail.state"}, EC2, rule_arn=RULE, rule_name="r1") \
        == '"RUNNING"'


def test_input_transformer_documented_outputs():
    # the EventBridge User Guide's "Input transform examples"
    assert render('"instance <instance> is in state <state>"') == \
        '"instance i-0123456789 is in state RUNNING"'
    assert render("instance <instance> is in state <state>") == \
        'instance "i-0123456789" is in state "RUNNING"'
    out = render('{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}')
    assert out == '{"instance": "i-0123456789", "state": [9, "RUNNING", true], "Transformed": "Yes"}'
    assert json.loads(out) == {"instance": "i-0123456789", "state": [9, "RUNNING", True],
                               "Transformed": "Yes"}
    assert render('"<instance> is in state \\"<state>\\""') == '"i-0123456789 is in state \\"RUNNING\\""'


def test_input_transformer_objects_predefined_and_missing_variables():
    assert render('{"d": <detail>, "s": "d=<detail>"}', {"detail": "$.detail"}) == \
        '{"d": {"instance-id": "i-0123456789", "state": "RUNNING"}, ' \
        '"s": "d={instance-id:i-0123456789,state:RUNNING}"}'
    out = json.loads(render('{"rule": <aws.events.rule-arn>, "name": "<aws.events.rule-name>", '
                            '"at": <aws.events.event.ingestion-time>, "e": <aws.events.event.json>, '
                            '"env": <aws.events.event>}', {}))
    assert out["rule"] == RULE and out["name"] == "r1" and out["at"] == "2015-11-11T21:29:54Z"
    assert out["e"] == {k: v for k, v in EC2.items() if k != "ingestion-time"}
    assert "detail" not in out["env"] and out["env"]["id"] == EC2["id"]
    assert render('{"x": <nope>, "y": "[<nope>]"}', {"nope": "$.detail.absent"}) == '{"x": null, "y": "[]"}'
    # an unknown placeholder is left as written
    assert render('"<unknown>"', {}) == '"<unknown>"'


class FakeBus:
    def __init__(self) -> None:
        self.fired: list[tuple[str, dict[str, Any]]] = []

    def fire(self, rule: RuleView, event: dict[str, Any]) -> None:
        self.fired.append((rule.arn, event))


class FakeTime:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def rule(name: str, expr: str, state: str = "ENABLED") -> RuleView:
    return RuleView(name, f"arn:aws:events:us-east-1:123456789012:rule/{name}", "123456789012",
                    "us-east-1", "default", state, None, expr, [{"Id": "t", "Arn": "arn:x"}])


START = dt.datetime(2024, 3, 1, 12, 0, 0, tzinfo=dt.UTC).timestamp()


def make(rules: list[RuleView], state: dict | None = None, scale: float = 60.0
         ) -> tuple[Scheduler, FakeBus, FakeTime]:
    mono, bus = FakeTime(), FakeBus()
    clock = Clock(scale, start=START, monotonic=mono)
    return Scheduler(bus, {} if state is None else state, clock, rules=lambda: rules), bus, mono  # type: ignore[arg-type]


def test_rate_fires_n_times_in_compressed_time_with_the_scheduled_event_json():
    r = rule("every-minute", "rate(1 minute)")
    sched, bus, mono = make([r, rule("off", "rate(1 minute)", "DISABLED")])
    assert sched.poll() == 60.0                       # first fire one period after the start
    for second in range(1, 6):                        # 5 real seconds at 60x = 5 minutes
        mono.t = float(second)
        sched.poll()
    assert len(bus.fired) == 5
    assert {arn for arn, _ in bus.fired} == {r.arn}   # the DISABLED rule never fired
    times = [e["time"] for _, e in bus.fired]
    assert times == [f"2024-03-01T12:0{m}:00Z" for m in range(1, 6)]
    arn, event = bus.fired[0]
    assert set(event) == {"version", "id", "detail-type", "source", "account", "time", "region",
                          "resources", "detail", "ingestion-time"}
    assert event["version"] == "0" and event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events" and event["account"] == "123456789012"
    assert event["region"] == "us-east-1" and event["resources"] == [r.arn] and event["detail"] == {}
    assert len({e["id"] for _, e in bus.fired}) == 5


def test_cron_rule_fires_on_its_minutes_and_disable_drops_the_phase():
    r = rule("quarter", "cron(0/15 * * * ? *)")
    rules = [r]
    sched, bus, mono = make(rules)
    mono.t = 30.0                                     # 30 minutes of scheduler time
    sched.poll()                                      # first pass creates the phase
    mono.t = 60.0
    sched.poll()
    assert [e["time"] for _, e in bus.fired] == ["2024-03-01T12:45:00Z"]
    rules[0] = rule("quarter", "cron(0/15 * * * ? *)", "DISABLED")
    mono.t = 120.0
    sched.poll()
    assert len(bus.fired) == 1 and r.arn not in sched.state


def test_restart_keeps_the_phase_and_skips_fires_missed_while_down():
    r = rule("hourly", "rate(1 hour)")
    state: dict = {}
    sched, bus, mono = make([r], state)
    sched.poll()
    mono.t = 60.0                                     # one hour at 60x
    sched.poll()
    assert len(bus.fired) == 1
    saved = json.loads(json.dumps(state))             # what a snapshot keeps
    # a new process three hours of scheduler time later (its clock starts at the wall clock,
    # which here is behind the saved clock: the saved clock wins)
    mono2, bus2 = FakeTime(), FakeBus()
    sched2 = Scheduler(bus2, saved, Clock(60.0, start=START, monotonic=mono2),  # type: ignore[arg-type]
                       rules=lambda: [r])
    sched2.poll()
    assert bus2.fired == []                           # nothing due yet: the clock resumed at 13:00
    mono2.t = 60.0
    sched2.poll()
    assert [e["time"] for _, e in bus2.fired] == ["2024-03-01T14:00:00Z"]
    # a restart after a long stop: missed fires are skipped, not sent in a burst
    late = {k: dict(v) for k, v in saved.items()}
    mono3, bus3 = FakeTime(), FakeBus()
    sched3 = Scheduler(bus3, late, Clock(60.0, start=START + 10 * 3600 + 60, monotonic=mono3),  # type: ignore[arg-type]
                       rules=lambda: [r])
    sched3.poll()
    assert [e["time"] for _, e in bus3.fired] == ["2024-03-01T22:00:00Z"]
    assert late[r.arn]["next"] == dt.datetime(2024, 3, 1, 23, 0, tzinfo=dt.UTC).timestamp()


def test_s3_event_shapes():
    created = envelope.s3_event(event_name="s3:ObjectCreated:Put", account="123456789012",
                                region="us-east-1", bucket="b", key="dir/a b.csv", size=5,
                                etag='"abc"', version_id="v1")
    assert created is not None and created["detail-type"] == "Object Created"
    assert created["detail"]["object"] | {"sequencer": "s"} == {
        "key": "dir/a b.csv", "size": 5, "etag": "abc", "version-id": "v1", "sequencer": "s"}
    assert created["detail"]["reason"] == "PutObject"
    deleted = envelope.s3_event(event_name="s3:ObjectRemoved:Delete", account="123456789012",
                                region="us-east-1", bucket="b", key="k", size=5, etag="e")
    assert deleted is not None and deleted["detail-type"] == "Object Deleted"
    assert set(deleted["detail"]["object"]) == {"key", "sequencer"}
    assert deleted["detail"]["reason"] == "DeleteObject"
    assert deleted["detail"]["deletion-type"] == "Permanently Deleted"
    copy = envelope.s3_event(event_name="s3:ObjectCreated:Copy", account="1", region="r", bucket="b", key="k")
    assert copy is not None and copy["detail"]["reason"] == "CopyObject"
    assert envelope.s3_event(event_name="s3:Replication:OperationFailed", account="1", region="r",
                             bucket="b", key="k") is None


def test_failed_invocation_publishes_failed_invocations_and_records_the_error():
    import boto3
    from moto import mock_aws

    from lakekit.local.events.delivery import Bus

    with mock_aws():
        now = dt.datetime.now(dt.UTC)
        bus = Bus(endpoint_url=lambda: "http://127.0.0.1:1")
        r = RuleView("to-sfn", RULE.replace("r1", "to-sfn"), "123456789012", "us-east-1", "default",
                     "ENABLED", None, "rate(1 minute)",
                     [{"Id": "sm", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m"}])
        bus.fire(r, envelope.scheduled_event(r.arn, now))
        assert bus.wait_idle(30)
        rec = bus.records[-1]
        assert (rec.status, rec.error_code) == ("failed", "INVALID_PARAMETER")  # no RoleArn
        assert "RoleArn" in (rec.error_message or "")
        cw = boto3.client("cloudwatch", region_name="us-east-1")

        def total(metric: str) -> float:
            pts = cw.get_metric_statistics(
                Namespace="AWS/Events", MetricName=metric, Dimensions=[{"Name": "RuleName", "Value": "to-sfn"}],
                StartTime=now - dt.timedelta(minutes=5), EndTime=now + dt.timedelta(minutes=5), Period=600,
                Statistics=["Sum"])["Datapoints"]
            return sum(p["Sum"] for p in pts)

        assert (total("TriggeredRules"), total("Invocations"), total("FailedInvocations")) == (1.0, 1.0, 1.0)
