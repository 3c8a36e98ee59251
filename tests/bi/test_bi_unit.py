"""lakekit.bi without an endpoint: URL, defaults, the aws target, the chart helpers."""
from __future__ import annotations

import base64
from unittest import mock

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lakekit import bi  # noqa: E402
from lakekit.config import Settings  # noqa: E402
from lakekit.exceptions import LakekitError  # noqa: E402

DF = pd.DataFrame({"carrier": ["AA", "UA", "B6", "DL", "EV"],
                   "flights": [32_729, 58_665, 54_635, 48_110, 54_173]})


def test_url_form_and_defaults():
    s = Settings(prefix="ana-01")
    assert bi.default_workgroup(s) == "ana-01-analysts"
    assert bi.default_schema(s) == "ana_01_lake"
    assert bi.url("ana-01-analysts", "ana_01_lake", "eu-west-1", "s3://r/analysts/") == (
        "awsathena+rest://@athena.eu-west-1.amazonaws.com:443/ana_01_lake?work_group=ana-01-analysts"
        "&catalog_name=awsdatacatalog&s3_staging_dir=s3%3A%2F%2Fr%2Fanalysts%2F")


class _Athena:
    def __init__(self, wg):
        self.wg, self.calls = wg, []

    def get_work_group(self, WorkGroup):  # noqa: N803 - boto3's argument name
        self.calls.append(WorkGroup)
        return {"WorkGroup": self.wg}


def _session(athena, region="eu-west-1"):
    sess = mock.Mock(region_name=region)
    sess.client.return_value = athena
    return sess


def test_aws_target_overrides_nothing():
    athena = _Athena({"Name": "lakekit-analysts", "State": "ENABLED",
                      "Configuration": {"ResultConfiguration": {"OutputLocation": "s3://res/analysts/"}}})
    sess = _session(athena)
    eng = bi.engine(s=Settings(target="aws"), boto3_session=sess)
    assert athena.calls == ["lakekit-analysts"]
    assert "endpoint_url" not in sess.client.call_args.kwargs
    assert eng.url.host == "athena.eu-west-1.amazonaws.com" and eng.url.database == "lakekit_lake"
    assert eng.url.query["s3_staging_dir"] == "s3://res/analysts/"
    connect_args = eng.dialect.create_connect_args(eng.url)[1]
    assert connect_args["region_name"] == "eu-west-1" and "endpoint_url" not in connect_args


def test_local_target_points_every_client_at_the_endpoint():
    athena = _Athena({"Name": "wg", "State": "ENABLED", "Configuration": {}})
    sess = _session(athena, "us-east-1")
    s = Settings(target="local", port=4999)
    with mock.patch("sqlalchemy.create_engine") as create:
        bi.engine("wg", "db", s=s, boto3_session=sess)
    assert sess.client.call_args.kwargs["endpoint_url"] == "http://127.0.0.1:4999"
    args = create.call_args.kwargs["connect_args"]
    assert args["endpoint_url"] == "http://127.0.0.1:4999" and args["session"] is sess
    assert args["s3_staging_dir"] == ""  # no result location: the workgroup (managed results) decides
    assert "s3_staging_dir" not in create.call_args.args[0]


def test_disabled_workgroup_is_refused():
    athena = _Athena({"Name": "wg", "State": "DISABLED", "Configuration": {}})
    with pytest.raises(LakekitError, match="'wg' is DISABLED"):
        bi.engine("wg", "db", s=Settings(target="aws"), boto3_session=_session(athena))


def test_chart_bar_is_sorted_and_has_the_values():
    ax = bi.chart(DF, "carrier", "flights")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["UA", "B6", "EV", "DL", "AA"]
    assert [int(p.get_height()) for p in ax.patches] == [58_665, 54_635, 54_173, 48_110, 32_729]
    assert ax.get_title() == "flights by carrier"
    assert [int(p.get_width()) for p in bi.chart(DF, "carrier", "flights", "barh", top=2).patches] == [54_635, 58_665]


def test_chart_refuses_unknown_columns_and_kinds():
    with pytest.raises(LakekitError, match="column 'delay' is not in the result"):
        bi.chart(DF, "carrier", "delay")
    with pytest.raises(LakekitError, match="kind 'scatter' is not one of bar, barh, line, pie"):
        bi.chart(DF, "carrier", "flights", "scatter")


def test_explorer_redraws_on_a_new_choice():
    box = bi.explorer(DF)
    x_dd, y_dd, kind_dd, out = box.children
    assert (x_dd.value, y_dd.value, kind_dd.value) == ("carrier", "flights", "bar")
    assert list(x_dd.options) == ["carrier", "flights"] and list(y_dd.options) == ["flights"]
    assert len(out.outputs) == 1 and out.outputs[0]["output_type"] == "display_data"
    first = out.outputs[0]["data"]["image/png"]
    assert out.outputs[0]["data"]["text/plain"] == "flights by carrier"
    assert base64.b64decode(first)[:8] == b"\x89PNG\r\n\x1a\n"
    kind_dd.value = "pie"
    assert len(out.outputs) == 1 and out.outputs[0]["data"]["image/png"] != first  # replaced, redrawn
    with pytest.raises(LakekitError, match="no numeric column"):
        bi.explorer(DF[["carrier"]])
