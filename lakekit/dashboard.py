"""Draw a CloudWatch dashboard with matplotlib, from GetDashboard + GetMetricData.

Works the same against AWS and the local endpoint: it only calls the CloudWatch API.
The body follows "CloudWatch dashboard body structure and syntax" (CloudWatch API reference):
a ``widgets`` list on a 24-column grid (``x``, ``y``, ``width`` default 6, ``height`` default 6).

- ``metric`` widgets: ``properties.metrics`` rows ``[Namespace, MetricName, DimName, DimValue,
  ..., {options}]`` where ``"."`` repeats the previous row's value at that position and the
  trailing options may set ``stat``, ``period``, ``label``, ``region``, ``yAxis`` (``left`` /
  ``right``), ``color``, ``visible``; widget-level ``title``, ``period`` (default 300), ``stat``
  (default ``Average``), ``region``, ``view`` (``timeSeries`` / ``singleValue``; ``bar`` and
  ``pie`` are drawn as bars), ``stacked``, ``yAxis.left/right.label/min/max``. Rows with
  ``expression`` (metric math) are listed as not drawn.
- ``text`` widgets: their markdown as plain text.
- other widget types (``log``, ``alarm``, ``explorer``, ``custom``...): listed in the figure
  (``fig.lakekit_not_drawn``) and drawn as a placeholder naming them.

Example::

    import datetime as dt, boto3
    from lakekit.dashboard import render
    cw = boto3.client("cloudwatch")
    end = dt.datetime.now(dt.UTC)
    fig = render("lakekit-pipeline", cw, end - dt.timedelta(hours=3), end)
    fig.savefig("dashboard.png")
"""
from __future__ import annotations

import datetime as _dt
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["render", "parse_metrics", "MetricRow"]

log = logging.getLogger(__name__)

GRID_COLUMNS = 24
DEFAULT_SIZE = 6
DEFAULT_PERIOD = 300
DEFAULT_STAT = "Average"
_OPTION_KEYS = ("stat", "period", "label", "region", "yAxis", "color", "visible", "id", "unit")


@dataclass
class MetricRow:
    """One entry of a metric widget's ``metrics`` array, shorthand resolved."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    expression: str | None = None


def parse_metrics(rows: list[list[Any]]) -> list[MetricRow]:
    """Resolve the ``"."`` shorthand and split options: ``[["AWS/Lambda", "Invocations",
    "FunctionName", "f"], [".", "Errors", ".", "."]]`` -> two rows of function ``f``."""
    out: list[MetricRow] = []
    previous: list[Any] = []
    for raw in rows:
        items = list(raw)
        options: dict[str, Any] = {}
        if items and isinstance(items[-1], dict):
            options = dict(items.pop())
        if "expression" in options and not items:
            out.append(MetricRow("", options.get("label", options["expression"]), {}, options,
                                 options["expression"]))
            continue
        resolved = [previous[i] if v == "." and i < len(previous) else v for i, v in enumerate(items)]
        previous = resolved
        if len(resolved) < 2:
            raise ValueError(f"metric row {raw!r}: needs at least [Namespace, MetricName]")
        dims = {str(resolved[i]): str(resolved[i + 1]) for i in range(2, len(resolved) - 1, 2)}
        out.append(MetricRow(str(resolved[0]), str(resolved[1]), dims, options))
    return out


def _body(name_or_body: str | dict[str, Any], cw: Any) -> dict[str, Any]:
    if isinstance(name_or_body, dict):
        return name_or_body
    text = name_or_body.strip()
    if text.startswith("{"):
        return json.loads(text)
    return json.loads(cw.get_dashboard(DashboardName=text)["DashboardBody"])


def _client_for(cw: Any, region: str | None) -> Any:
    if not region or region == cw.meta.region_name:
        return cw
    import boto3

    creds = cw._request_signer._credentials
    frozen = creds.get_frozen_credentials() if creds else None
    return boto3.client("cloudwatch", region_name=region, endpoint_url=cw.meta.endpoint_url,
                        aws_access_key_id=frozen.access_key if frozen else None,
                        aws_secret_access_key=frozen.secret_key if frozen else None,
                        aws_session_token=frozen.token if frozen else None)


def _series(cw: Any, rows: list[MetricRow], props: dict[str, Any], start: _dt.datetime,
            end: _dt.datetime) -> list[dict[str, Any]]:
    """GetMetricData per widget (one query per drawable row) -> label/timestamps/values/unit."""
    period = int(props.get("period") or DEFAULT_PERIOD)
    stat = props.get("stat") or DEFAULT_STAT
    queries, drawn = [], []
    for i, row in enumerate(rows):
        if row.expression is not None or row.options.get("visible") is False:
            continue
        metric = {"Namespace": row.namespace, "MetricName": row.name,
                  "Dimensions": [{"Name": k, "Value": v} for k, v in row.dimensions.items()]}
        queries.append({"Id": f"m{i}", "ReturnData": True,
                        "Label": row.options.get("label") or row.name,
                        "MetricStat": {"Metric": metric,
                                       "Period": int(row.options.get("period") or period),
                                       "Stat": row.options.get("stat") or stat}})
        drawn.append(row)
    if not queries:
        return []
    got: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        kwargs: dict[str, Any] = {"MetricDataQueries": queries, "StartTime": start, "EndTime": end,
                                  "ScanBy": "TimestampAscending"}
        if token:
            kwargs["NextToken"] = token
        page = cw.get_metric_data(**kwargs)
        for r in page.get("MetricDataResults", []):
            slot = got.setdefault(r["Id"], {"Timestamps": [], "Values": [], "Label": r.get("Label")})
            slot["Timestamps"] += list(r.get("Timestamps", []))
            slot["Values"] += list(r.get("Values", []))
        token = page.get("NextToken")
        if not token:
            break
    out = []
    for q, row in zip(queries, drawn, strict=True):
        r = got.get(q["Id"], {"Timestamps": [], "Values": []})
        pairs = sorted(zip(r["Timestamps"], r["Values"], strict=True))
        out.append({"row": row, "label": q["Label"], "stat": q["MetricStat"]["Stat"],
                    "period": q["MetricStat"]["Period"],
                    "timestamps": [p[0] for p in pairs], "values": [float(p[1]) for p in pairs],
                    "unit": row.options.get("unit") or _unit(cw, row, start, end)})
    return out


def _unit(cw: Any, row: MetricRow, start: _dt.datetime, end: _dt.datetime) -> str | None:
    """GetMetricData has no unit: ask GetMetricStatistics once (the datapoints carry it)."""
    try:
        span = max(60, int((end - start).total_seconds()))
        span = ((span + 59) // 60) * 60
        points = cw.get_metric_statistics(
            Namespace=row.namespace, MetricName=row.name, StartTime=start, EndTime=end,
            Period=span, Statistics=["SampleCount"],
            Dimensions=[{"Name": k, "Value": v} for k, v in row.dimensions.items()])["Datapoints"]
    except Exception:
        log.debug("no unit for %s/%s", row.namespace, row.name, exc_info=True)
        return None
    units = {p.get("Unit") for p in points if p.get("Unit") and p.get("Unit") != "None"}
    return units.pop() if len(units) == 1 else None


def _markdown_text(md: str) -> str:
    text = re.sub(r"^#{1,6}\s*", "", md, flags=re.M)
    text = re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", text)
    return re.sub(r"[*_`]", "", text)


def render(name_or_body: str | dict[str, Any], cw_client: Any, start: _dt.datetime,
           end: _dt.datetime) -> Any:
    """The dashboard (its name, or its JSON body as str/dict) drawn as a matplotlib Figure.

    Each widget is one Axes placed on the 24-column grid; ``fig.lakekit_widgets`` lists, per
    widget, what was drawn (type, title, series with their values), and
    ``fig.lakekit_not_drawn`` the widgets (or metric-math rows) that were not."""
    import matplotlib.dates as mdates
    from matplotlib.figure import Figure
    from matplotlib.gridspec import GridSpec

    body = _body(name_or_body, cw_client)
    widgets = body.get("widgets") or []
    placed = _place(widgets)
    rows = max([y + h for _, (x, y, w, h) in placed] or [1])
    fig = Figure(figsize=(16, max(3.0, rows * 0.5)), layout="constrained")
    grid = GridSpec(rows, GRID_COLUMNS, figure=fig)
    fig.lakekit_widgets = []
    fig.lakekit_not_drawn = []
    for widget, (x, y, w, h) in placed:
        ax = fig.add_subplot(grid[y:y + h, x:x + w])
        kind = widget.get("type", "")
        props = widget.get("properties") or {}
        if kind == "metric":
            _draw_metric(fig, ax, cw_client, props, start, end, mdates)
        elif kind == "text":
            ax.set_axis_off()
            ax.text(0.01, 0.98, _markdown_text(str(props.get("markdown", ""))), va="top", ha="left",
                    transform=ax.transAxes, wrap=True, fontsize=9)
            fig.lakekit_widgets.append({"type": "text", "title": None, "ax": ax,
                                        "text": str(props.get("markdown", ""))})
        else:
            ax.set_axis_off()
            title = props.get("title") or kind
            ax.text(0.5, 0.5, f"{kind} widget \"{title}\" is not drawn locally", ha="center",
                    va="center", transform=ax.transAxes, fontsize=9, color="grey")
            fig.lakekit_not_drawn.append({"type": kind, "title": props.get("title")})
    return fig


def _place(widgets: list[dict[str, Any]]) -> list[tuple[dict[str, Any], tuple[int, int, int, int]]]:
    """Grid positions; widgets without x/y flow left to right, top to bottom (as the console)."""
    out = []
    cx = cy = row_h = 0
    for wd in widgets:
        w = min(GRID_COLUMNS, int(wd.get("width") or DEFAULT_SIZE))
        h = int(wd.get("height") or DEFAULT_SIZE)
        if "x" in wd and "y" in wd:
            x, y = min(int(wd["x"]), GRID_COLUMNS - w), int(wd["y"])
        else:
            if cx + w > GRID_COLUMNS:
                cx, cy, row_h = 0, cy + row_h, 0
            x, y = cx, cy
            cx += w
            row_h = max(row_h, h)
        out.append((wd, (x, y, w, h)))
    return out


def _draw_metric(fig: Any, ax: Any, cw: Any, props: dict[str, Any], start: _dt.datetime,
                 end: _dt.datetime, mdates: Any) -> None:
    rows = parse_metrics(props.get("metrics") or [])
    title = props.get("title") or ", ".join(r.name for r in rows[:2])
    for r in rows:
        if r.expression is not None:
            fig.lakekit_not_drawn.append({"type": "metric-math", "title": title,
                                          "expression": r.expression})
    client = _client_for(cw, props.get("region"))
    series = _series(client, rows, props, start, end)
    view = props.get("view", "timeSeries")
    period = int(props.get("period") or DEFAULT_PERIOD)
    ax.set_title(f"{title}", fontsize=10)
    units = sorted({s["unit"] for s in series if s["unit"]})
    y_left = ((props.get("yAxis") or {}).get("left") or {})
    entry = {"type": "metric", "view": view, "title": title, "ax": ax, "period": period,
             "series": [{k: s[k] for k in ("label", "stat", "period", "timestamps", "values", "unit")}
                        for s in series]}
    fig.lakekit_widgets.append(entry)
    if view == "singleValue":
        ax.set_axis_off()
        lines = []
        for s in series:
            value = s["values"][-1] if s["values"] else None
            shown = "No data" if value is None else f"{value:g}"
            lines.append(f"{s['label']} ({s['stat']}): {shown}" + (f" {s['unit']}" if s["unit"] and value is not None else ""))
        ax.text(0.02, 0.9, "\n".join(lines) or "No data", va="top", ha="left", transform=ax.transAxes,
                fontsize=12)
        return
    right = ax.twinx() if any((s["row"].options.get("yAxis") == "right") for s in series) else None
    for i, s in enumerate(series):
        target = right if (right is not None and s["row"].options.get("yAxis") == "right") else ax
        kwargs = {"label": s["label"]}
        if s["row"].options.get("color"):
            kwargs["color"] = s["row"].options["color"]
        if view in ("bar", "pie"):
            target.bar([str(i)], [s["values"][-1] if s["values"] else 0.0], **kwargs)
        elif s["timestamps"]:
            target.plot(s["timestamps"], s["values"], marker="o", markersize=3, **kwargs)
        else:
            target.plot([], [], **kwargs)
    ax.set_ylabel(y_left.get("label") or (" / ".join(units) if units else "Value"))
    if right is not None:
        y_right = ((props.get("yAxis") or {}).get("right") or {})
        right_units = sorted({s["unit"] for s in series if s["unit"] and s["row"].options.get("yAxis") == "right"})
        right.set_ylabel(y_right.get("label") or (" / ".join(right_units) or "Value"))
    if view not in ("bar", "pie"):
        ax.set_xlabel(f"Time (UTC), period {period // 60} min" if period >= 60 else f"Time (UTC), period {period} s")
        ax.set_xlim(start, end)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M"))
    if "min" in y_left or "max" in y_left:
        ax.set_ylim(y_left.get("min"), y_left.get("max"))
    if series:
        ax.legend(fontsize=8, loc="upper left")
