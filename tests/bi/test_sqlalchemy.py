"""A BI client at the end of the lake: SQLAlchemy over PyAthena (``awsathena+rest://``) on the
local endpoint - reflection, the truth counts, Lake Formation for an analyst's engine."""
from __future__ import annotations

import pytest
import sqlalchemy as sa
from pandas.errors import DatabaseError
from pyathena.error import OperationalError

from lakekit import bi
from tests.bi.conftest import DB, WORKGROUP

TRUTH = {"UA": 58_665, "B6": 54_635, "EV": 54_173, "DL": 48_110, "AA": 32_729}
BY_CARRIER = "SELECT carrier, count(*) AS flights FROM flights GROUP BY carrier ORDER BY flights DESC LIMIT 5"


@pytest.fixture(scope="module")
def admin_engine(bi_lake):
    eng = bi.engine(WORKGROUP, DB, s=bi_lake.endpoint.settings)
    yield eng
    eng.dispose()


def _engine(bi_lake, role: str):
    return bi.engine(WORKGROUP, DB, s=bi_lake.endpoint.settings, boto3_session=bi_lake.sessions[role])


def test_engine_url_names_the_dialect_workgroup_and_result_location(admin_engine):
    u = admin_engine.url
    assert (u.drivername, u.host, u.database) == ("awsathena+rest", "athena.us-east-1.amazonaws.com", DB)
    assert u.query["work_group"] == WORKGROUP
    assert u.query["s3_staging_dir"] == "s3://bi-results/analysts/"  # read from the workgroup
    assert not u.username and not u.password  # credentials come from the session


def test_reflection_lists_tables_and_columns_with_their_types(admin_engine):
    insp = sa.inspect(admin_engine)
    assert DB in insp.get_schema_names()
    assert insp.get_table_names(schema=DB) == ["airlines", "flights"]
    cols = insp.get_columns("flights", schema=DB)
    assert [(c["name"], str(c["type"])) for c in cols] == [
        ("carrier", "VARCHAR"), ("flight", "BIGINT"), ("tailnum", "VARCHAR"), ("origin", "VARCHAR"),
        ("dest", "VARCHAR"), ("dep_delay", "DOUBLE"), ("arr_delay", "DOUBLE"), ("distance", "BIGINT"),
        ("time_hour", "TIMESTAMP"), ("month", "INTEGER")]
    assert [c["dialect_options"]["awsathena_partition"] for c in cols][-2:] == [None, True]
    assert [(c["name"], c["comment"]) for c in insp.get_columns("airlines", schema=DB)] == [
        ("carrier", None), ("name", "full name")]
    assert insp.has_table("flights", schema=DB) and not insp.has_table("nope", schema=DB)
    opts = insp.get_table_options("flights", schema=DB)
    assert opts["awsathena_location"] == "s3://bi-lake/processed/flights/"


def test_query_returns_the_truth_counts(bi_lake, admin_engine):
    df = bi.read_sql(BY_CARRIER, admin_engine)
    assert dict(zip(df.carrier, df.flights.astype(int), strict=True)) == TRUTH
    assert int(bi.read_sql("SELECT count(*) AS n FROM flights", admin_engine).n[0]) == 336_776 == len(bi_lake.flights)


def test_core_select_on_a_reflected_table(bi_lake, admin_engine):
    flights = sa.Table("flights", sa.MetaData(), schema=DB, autoload_with=admin_engine)
    stmt = (sa.select(flights.c.origin, sa.func.count().label("n")).where(flights.c.month == 7)
            .group_by(flights.c.origin).order_by(flights.c.origin))
    with admin_engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(stmt)]
    july = bi_lake.flights[bi_lake.flights.month == 7].groupby("origin").size()
    assert rows == [("EWR", 10_475), ("JFK", 10_023), ("LGA", 8_927)] == list(july.items())


def test_bound_parameters(admin_engine):
    df = bi.read_sql("SELECT count(*) AS n FROM flights WHERE carrier = :c AND month = :m", admin_engine,
                     c="UA", m=1)
    assert int(df.n[0]) == 4_637


# ============================================================================ Lake Formation
def test_analyst_engine_reflects_only_what_it_may_see(bi_lake):
    eng = _engine(bi_lake, "bi-analyst")
    try:
        insp = sa.inspect(eng)
        assert insp.get_table_names(schema=DB) == ["flights"]
        names = [c["name"] for c in insp.get_columns("flights", schema=DB)]
        assert "tailnum" not in names and names[:3] == ["carrier", "flight", "origin"]
        df = bi.read_sql(BY_CARRIER, eng)
        assert dict(zip(df.carrier, df.flights.astype(int), strict=True)) == TRUTH
        with pytest.raises(DatabaseError) as exc:
            bi.read_sql("SELECT tailnum FROM flights LIMIT 1", eng)
        assert "COLUMN_NOT_FOUND" in str(exc.value)
        with pytest.raises(DatabaseError) as exc:
            bi.read_sql("SELECT count(*) FROM airlines", eng)
        assert "Insufficient Lake Formation permission(s) on airlines" in str(exc.value)
    finally:
        eng.dispose()


def test_without_the_catalog_actions_reflection_fails_like_on_aws(bi_lake):
    """The template's DataLakeReadPolicy lacks athena:ListTableMetadata: a BI tool cannot list."""
    eng = _engine(bi_lake, "bi-no-catalog-api")
    try:
        with pytest.raises(OperationalError) as exc:
            sa.inspect(eng).get_table_names(schema=DB)
        assert "is not authorized to perform: athena:ListTableMetadata on resource: " in str(exc.value)
        df = bi.read_sql(BY_CARRIER, eng)  # querying needs no catalog action
        assert int(df.flights[0]) == TRUTH["UA"]
    finally:
        eng.dispose()


def test_which_calls_reflection_and_a_query_make(bi_lake):
    """PyAthena reflects through Athena's catalog API (evaluated by the endpoint), never Glue."""
    sess = bi_lake.sessions["bi-analyst"]
    calls: list[str] = []

    def record(model, **_):
        calls.append(f"{model.service_model.service_name}:{model.name}")

    sess.events.register("before-call", record)
    try:
        eng = _engine(bi_lake, "bi-analyst")
        assert calls == ["athena:GetWorkGroup"]  # lakekit.bi reads the result location
        insp = sa.inspect(eng)
        insp.get_schema_names()
        insp.get_table_names(schema=DB)
        insp.get_columns("flights", schema=DB)  # answered from the listing (no GetTableMetadata)
        sa.inspect(eng).get_columns("flights", schema=DB)  # a fresh inspector asks for the table
        assert calls[1:] == ["athena:ListDatabases", "athena:ListTableMetadata", "athena:GetTableMetadata"]
        del calls[:]
        bi.read_sql("SELECT count(*) AS n FROM flights", eng)
        assert calls[0] == "athena:StartQueryExecution" and "athena:GetQueryResults" in calls
        assert {c.split(":")[0] for c in calls} == {"athena"}
        eng.dispose()
    finally:
        sess.events.unregister("before-call", record)
