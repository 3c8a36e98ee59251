"""The local awsglue library without a JVM: where it is offered, getResolvedOptions, bookmark rules."""
from __future__ import annotations

import io
import json
import sys
import zipfile

import pytest

from lakekit import deploy
from lakekit.local.glue import jobrunner


@pytest.fixture
def awsglue_path(monkeypatch):
    monkeypatch.syspath_prepend(str(jobrunner.PYLIB))
    for name in [m for m in sys.modules if m == "awsglue" or m.startswith("awsglue.")]:
        monkeypatch.delitem(sys.modules, name)
    yield jobrunner.PYLIB


def test_library_is_offered_to_the_job_process_only_and_never_deployed(tmp_path):
    env = jobrunner.library_env(tmp_path / "rt")
    assert env["PYTHONPATH"] == str(jobrunner.PYLIB)
    assert (jobrunner.PYLIB / "awsglue" / "context.py").exists()
    assert env["LAKEKIT_GLUE_RUNTIME"] == str(tmp_path / "rt")
    assert env["PYSPARK_SUBMIT_ARGS"].endswith("pyspark-shell")
    assets = deploy.package_assets()
    names = []
    for asset in assets.values():
        if asset.key.endswith(".zip"):
            names += zipfile.ZipFile(io.BytesIO(asset.body)).namelist()
        else:
            names.append(asset.key)
    assert names and not [n for n in names if "awsglue" in n or "pylib" in n], names
    assert sorted(a.key.split("/")[0] for a in assets.values()) == ["lambda", "lambda", "scripts"]


def test_spark_event_log_only_when_asked_for(tmp_path, monkeypatch):
    """``LAKEKIT_SPARK_EVENT_LOG_DIR`` (benchmarks' profile) turns Spark's event log on; by default
    it is off (Glue writes event logs only with ``--enable-spark-ui``, not emulated)."""
    monkeypatch.delenv("LAKEKIT_SPARK_EVENT_LOG_DIR", raising=False)
    assert "spark.eventLog" not in jobrunner.library_env(tmp_path / "rt")["PYSPARK_SUBMIT_ARGS"]
    monkeypatch.setenv("LAKEKIT_SPARK_EVENT_LOG_DIR", str(tmp_path / "events"))
    args = jobrunner.library_env(tmp_path / "rt")["PYSPARK_SUBMIT_ARGS"]
    assert f"--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file://{tmp_path}/events " in args
    assert args.endswith("pyspark-shell") and (tmp_path / "events").is_dir()


@pytest.mark.parametrize("argv,options,expected", [
    (["x.py", "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1", "--in", "s3://a/"], ["JOB_NAME", "in"],
     {"job_bookmark_option": "job-bookmark-disable", "JOB_RUN_ID": "jr_1", "JOB_NAME": "j", "in": "s3://a/"}),
    (["x.py", "--JOB_NAME=j", "--job-bookmark-option", "job-bookmark-enable", "--TempDir", "t"], ["JOB_NAME"],
     {"job_bookmark_option": "job-bookmark-enable", "RedshiftTempDir": "t", "TempDir": "t", "JOB_NAME": "j"}),
    (["x.py", "--JOB_NAME", "j", "--continuation-option", "continuation-readonly"], ["JOB_NAME"],
     {"job_bookmark_option": "job-bookmark-pause", "JOB_NAME": "j"}),
    (["x.py", "--job-bookmark-option", "job-bookmark-pause", "--job-bookmark-from", "a",
      "--job-bookmark-to", "b"], [],
     {"job_bookmark_option": "job-bookmark-pause", "job_bookmark_from": "a", "job_bookmark_to": "b"}),
])
def test_get_resolved_options_is_the_glue_5_one(awsglue_path, argv, options, expected):
    """The values Glue 5.0's getResolvedOptions returns (registered options absent from argv are None)."""
    from awsglue.utils import getResolvedOptions

    got = getResolvedOptions(argv, options)
    assert {k: v for k, v in got.items() if v is not None} == expected
    assert {"JOB_ID", "JOB_RUN_ID", "SECURITY_CONFIGURATION", "TempDir", "encryption_type"} <= set(got)


def test_get_resolved_options_refuses_like_glue(awsglue_path):
    from awsglue.utils import GlueArgumentError, getResolvedOptions

    with pytest.raises(GlueArgumentError, match="the following arguments are required: --in"):
        getResolvedOptions(["x.py"], ["in"])
    with pytest.raises(RuntimeError, match="Using reserved arguments job-bookmark-option"):
        getResolvedOptions(["x.py"], ["job-bookmark-option"])
    with pytest.raises(RuntimeError, match="Missing option or value for --job-bookmark-to"):
        getResolvedOptions(["x.py", "--job-bookmark-option", "job-bookmark-pause",
                            "--job-bookmark-from", "jr_1"], [])
    with pytest.raises(RuntimeError, match="Invalid option"):
        getResolvedOptions(["x.py", "--job-bookmark-from", "a", "--job-bookmark-to", "b"], [])


def _bookmarks(tmp_path, option, state=None, runs=None, started_ms=10_000_000, **kw):
    from awsglue._bookmarks import Bookmarks

    (tmp_path / "bookmark.json").write_text(json.dumps({
        "option": option, "started_ms": started_ms, "bookmark": state or {}, "runs": runs or {}, **kw}))
    return Bookmarks(tmp_path)


def test_bookmark_rules_new_modified_band_and_include_list(awsglue_path, tmp_path):
    from awsglue._s3 import S3Object

    def obj(name, ms):
        return S3Object("b", f"in/{name}", f"/x/{name}", last_modified=ms)

    first = [obj("old", 1_000), obj("inband", 9_500_000)]
    bm = _bookmarks(tmp_path, "job-bookmark-enable")
    assert [o.key for o in bm.select("src", first)] == ["in/old", "in/inband"]
    bm.commit()
    state = json.loads((tmp_path / "bookmark-commit.json").read_text())["bookmark"]
    ts = state["src"]["timestamps"]
    assert ts["CURR_RUN_START_TIME"] == "1970-01-01T02:46:40.000Z" and ts["RUN"] == "1"
    assert len(ts["INCLUDE_LIST"].split(",")) == 1      # only the object inside the 15-minute band

    # next run: a new object, a late one inside the old band (not on the include list), one after start
    late = obj("late", 9_600_000)
    later = [*first, late, obj("new", 10_500_000), obj("future", 30_000_000)]
    bm2 = _bookmarks(tmp_path, "job-bookmark-enable", state, started_ms=20_000_000)
    assert [o.key for o in bm2.select("src", later)] == ["in/late", "in/new"]
    # without the ctx, or disabled: everything
    assert len(bm2.select("", later)) == 5
    assert len(_bookmarks(tmp_path, "job-bookmark-disable", state).select("src", later)) == 5
    # pause: same selection, nothing handed over at commit
    (tmp_path / "bookmark-commit.json").unlink()
    paused = _bookmarks(tmp_path, "job-bookmark-pause", state, started_ms=20_000_000)
    assert [o.key for o in paused.select("src", later)] == ["in/late", "in/new"]
    paused.commit()
    assert not (tmp_path / "bookmark-commit.json").exists()


def test_bookmark_from_to_must_name_stored_runs(awsglue_path, tmp_path):
    bm = _bookmarks(tmp_path, "job-bookmark-pause", **{"from": "jr_x", "to": "jr_y"})
    with pytest.raises(RuntimeError, match="job-bookmark-from jr_x is not a run of this job"):
        bm.select("src", [])


def test_connection_types_and_formats_not_provided_locally_are_refused(awsglue_path):
    from awsglue._readers import read_files
    from awsglue._s3 import S3Object
    from awsglue.context import _s3_only

    with pytest.raises(ValueError, match="connection_type 'jdbc' is not provided by the local awsglue"):
        _s3_only("jdbc")
    _s3_only("s3")

    class _Ctx:
        spark_session = None

    with pytest.raises(ValueError, match="format 'avro' is not supported by the local awsglue"):
        read_files(_Ctx(), [S3Object("b", "k.avro", "/x/k.avro")], "avro", {}, "src")
