"""AWS::CloudWatch::Alarm and AWS::CloudWatch::Dashboard through the CloudWatch API.

An alarm is one PutMetricAlarm (create and every update: the API replaces the whole alarm), a
dashboard one PutDashboard; ``describe_alarms`` and ``get_dashboard`` read them back. Evaluating
alarms and rendering dashboards is the endpoint's job, not the provisioner's.
"""
from __future__ import annotations

import json
from typing import Any

from lakekit.local.cloudformation.resources.base import (
    Created,
    ProvisionContext,
    Provisioner,
    ResourceFailure,
    failing_as,
    provisioner,
    tags_list,
)

__all__ = ["Alarm", "Dashboard"]

_NUMBERS = {"EvaluationPeriods": int, "DatapointsToAlarm": int, "Period": int, "Threshold": float}
_PLAIN = ("AlarmDescription", "ComparisonOperator", "MetricName", "Namespace", "Statistic",
          "ExtendedStatistic", "Unit", "TreatMissingData", "EvaluateLowSampleCountPercentile",
          "ThresholdMetricId", "AlarmActions", "OKActions", "InsufficientDataActions")


def _metric_query(q: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": q["Id"]}
    for key in ("Expression", "Label", "AccountId"):
        if key in q:
            out[key] = q[key]
    if "ReturnData" in q:
        out["ReturnData"] = str(q["ReturnData"]).lower() == "true"
    if "Period" in q:
        out["Period"] = int(q["Period"])
    if "MetricStat" in q:
        ms = q["MetricStat"]
        metric = {k: ms["Metric"][k] for k in ("Namespace", "MetricName") if k in ms["Metric"]}
        metric["Dimensions"] = [{"Name": d["Name"], "Value": str(d["Value"])}
                                for d in ms["Metric"].get("Dimensions") or []]
        out["MetricStat"] = {"Metric": metric, "Period": int(ms["Period"]), "Stat": ms["Stat"],
                             **({"Unit": ms["Unit"]} if "Unit" in ms else {})}
    return out


def _alarm_kwargs(name: str, props: dict[str, Any]) -> dict[str, Any]:
    if "Metrics" in props and ("MetricName" in props or "Namespace" in props):
        raise ResourceFailure(
            'Resource handler returned message: "Metrics list and MetricName/Namespace are mutually '
            'exclusive" (Service: CloudWatch, Status Code: 400, Error Code: ValidationError). Keep '
            "either the metric math (Metrics) or the single metric.")
    kwargs: dict[str, Any] = {"AlarmName": name}
    for key in _PLAIN:
        if key in props:
            kwargs[key] = props[key]
    for key, cast in _NUMBERS.items():
        if key in props:
            kwargs[key] = cast(props[key])
    if "ActionsEnabled" in props:
        kwargs["ActionsEnabled"] = str(props["ActionsEnabled"]).lower() == "true"
    if "Dimensions" in props:
        kwargs["Dimensions"] = [{"Name": d["Name"], "Value": str(d["Value"])} for d in props["Dimensions"]]
    if "Metrics" in props:
        kwargs["Metrics"] = [_metric_query(q) for q in props["Metrics"]]
    if props.get("Tags"):
        kwargs["Tags"] = tags_list(props["Tags"])
    return kwargs


@provisioner
class Alarm(Provisioner):
    type = "AWS::CloudWatch::Alarm"
    supported = frozenset({"AlarmName", "AlarmDescription", "ActionsEnabled", "AlarmActions",
                           "OKActions", "InsufficientDataActions", "ComparisonOperator",
                           "DatapointsToAlarm", "Dimensions", "EvaluateLowSampleCountPercentile",
                           "EvaluationPeriods", "ExtendedStatistic", "MetricName", "Metrics",
                           "Namespace", "Period", "Statistic", "Threshold", "ThresholdMetricId",
                           "TreatMissingData", "Unit", "Tags"})
    required = frozenset({"ComparisonOperator", "EvaluationPeriods"})
    attributes = ("Arn",)

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("AlarmName") or ctx.physical_name(logical, 255)
        cw = ctx.client("cloudwatch")
        with failing_as("Metrics" if "Metrics" in props else "MetricName", "CloudWatch"):
            cw.put_metric_alarm(**_alarm_kwargs(name, props))
        arn = f"arn:{ctx.partition}:cloudwatch:{ctx.region}:{ctx.account_id}:alarm:{name}"
        return Created(name, {"Arn": arn})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        with failing_as("Metrics" if "Metrics" in new else "MetricName", "CloudWatch"):
            ctx.client("cloudwatch").put_metric_alarm(**_alarm_kwargs(physical_id, new))
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        with failing_as(None, "CloudWatch"):  # DeleteAlarms of a missing alarm succeeds
            ctx.client("cloudwatch").delete_alarms(AlarmNames=[physical_id])


@provisioner
class Dashboard(Provisioner):
    type = "AWS::CloudWatch::Dashboard"
    supported = frozenset({"DashboardName", "DashboardBody"})
    required = frozenset({"DashboardBody"})

    def _put(self, ctx: ProvisionContext, name: str, body: Any) -> None:
        text = body if isinstance(body, str) else json.dumps(body)
        with failing_as("DashboardBody", "CloudWatch"):
            resp = ctx.client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=text)
        errors = [m for m in resp.get("DashboardValidationMessages") or []]
        if errors:
            first = errors[0]
            raise ResourceFailure(f"Property DashboardBody: {first.get('DataPath', '')}: "
                                  f"{first.get('Message', '')} (Service: CloudWatch, Error Code: "
                                  "InvalidParameterInput)")

    def create(self, ctx: ProvisionContext, logical: str, props: dict[str, Any]) -> Created:
        name = props.get("DashboardName") or ctx.physical_name(logical, 255)
        self._put(ctx, name, props["DashboardBody"])
        return Created(name, {})

    def update(self, ctx: ProvisionContext, logical: str, physical_id: str,
               old: dict[str, Any], new: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
        self._put(ctx, physical_id, new["DashboardBody"])
        return attrs

    def delete(self, ctx: ProvisionContext, logical: str, physical_id: str,
               props: dict[str, Any], attrs: dict[str, Any]) -> None:
        from botocore.exceptions import ClientError

        try:
            ctx.client("cloudwatch").delete_dashboards(DashboardNames=[physical_id])
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("ResourceNotFound", "DashboardNotFoundError"):
                with failing_as(None, "CloudWatch"):
                    raise
