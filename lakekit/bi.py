"""The lake seen from a BI tool: an SQLAlchemy engine over PyAthena, reflection, a chart.

BI tools (Superset, Tableau, QuickSight, Metabase...) read Athena through a driver: they list
databases, tables and columns with Athena's catalog API (``ListDatabases``,
``ListTableMetadata``, ``GetTableMetadata``) and run SQL in a workgroup. :func:`engine` gives
the same client in Python: an SQLAlchemy engine on PyAthena's ``awsathena+rest://`` dialect for
the current target (on ``local`` the embedded endpoint; on ``aws`` nothing is overridden), signed
with the session's credentials (or an assumed role's session) and writing results where the
workgroup says. Lake Formation applies to it like to any Athena client: an analyst's engine
reflects only the tables and columns the analyst may read.

Example::

    >>> import sqlalchemy as sa
    >>> from lakekit import bi
    >>> eng = bi.engine()                           # workgroup <prefix>-analysts, schema <prefix>_lake  # doctest: +SKIP
    >>> sa.inspect(eng).get_table_names()           # doctest: +SKIP
    ['airlines', 'flights', ...]
    >>> df = bi.read_sql("SELECT carrier, count(*) AS flights FROM flights GROUP BY 1 ORDER BY 2 DESC", eng)  # doctest: +SKIP
    >>> bi.chart(df, x="carrier", y="flights")      # a matplotlib Axes  # doctest: +SKIP
    >>> bi.explorer(df)                             # dropdowns to pick x / y / kind  # doctest: +SKIP
"""
from __future__ import annotations

import base64
import io
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote_plus

import pandas as pd

from lakekit.config import Settings, settings
from lakekit.exceptions import LakekitError
from lakekit.session import CLIENT_CONFIG
from lakekit.session import session as _session

if TYPE_CHECKING:  # pragma: no cover
    import boto3
    import sqlalchemy

__all__ = ["engine", "url", "default_workgroup", "default_schema", "read_sql", "chart", "explorer",
           "KINDS"]

log = logging.getLogger(__name__)

KINDS = ("bar", "barh", "line", "pie")


def default_workgroup(s: Settings | None = None) -> str:
    """The workgroup BI users query in: the template's ``<prefix>-analysts`` (scan cutoff,
    enforced result location)."""
    return f"{(s or settings()).prefix}-analysts"


def default_schema(s: Settings | None = None) -> str:
    """The lake's Glue database: ``<prefix with _ for ->_lake`` (as the template names it)."""
    return "_".join((s or settings()).prefix.split("-")) + "_lake"


def url(workgroup: str, schema: str, region: str, output_location: str | None = None,
        catalog: str = "awsdatacatalog") -> str:
    """The SQLAlchemy URL a BI tool is configured with (no credentials in it)::

        awsathena+rest://@athena.<region>.amazonaws.com:443/<schema>?work_group=<wg>&catalog_name=...

    >>> url("lakekit-analysts", "lakekit_lake", "us-east-1")
    'awsathena+rest://@athena.us-east-1.amazonaws.com:443/lakekit_lake?work_group=lakekit-analysts&catalog_name=awsdatacatalog'
    """
    out = (f"awsathena+rest://@athena.{region}.amazonaws.com:443/{quote_plus(schema)}"
           f"?work_group={quote_plus(workgroup)}&catalog_name={quote_plus(catalog)}")
    if output_location:
        out += f"&s3_staging_dir={quote_plus(output_location)}"
    return out


def _output_location(athena: Any, workgroup: str) -> str | None:
    """The workgroup's result location (None: none configured, e.g. managed query results)."""
    from botocore.exceptions import ClientError

    try:
        wg = athena.get_work_group(WorkGroup=workgroup)["WorkGroup"]
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code")
        raise LakekitError(
            f"Cannot read Athena workgroup {workgroup!r} ({code}: {err.response['Error'].get('Message')}). "
            "Check the name (the template's are <prefix>-analysts and <prefix>-engineers) and that the "
            "principal may call athena:GetWorkGroup on it.") from err
    if wg.get("State") == "DISABLED":
        raise LakekitError(f"Athena workgroup {workgroup!r} is DISABLED: enable it or pick another one.")
    config = wg.get("Configuration") or {}
    return (config.get("ResultConfiguration") or {}).get("OutputLocation")


def engine(workgroup: str | None = None, schema: str | None = None, *,
           boto3_session: boto3.session.Session | None = None, s: Settings | None = None,
           catalog: str = "awsdatacatalog", poll_interval: float = 0.2,
           **engine_kwargs: Any) -> sqlalchemy.Engine:
    """An SQLAlchemy engine on Athena (PyAthena's ``awsathena+rest`` dialect) for the target.

    ``workgroup`` (default :func:`default_workgroup`) is where every query runs; its output
    location becomes PyAthena's ``s3_staging_dir`` (a workgroup that enforces its settings
    overrides it anyway). ``schema`` (default :func:`default_schema`) is the database of
    unqualified names. ``boto3_session``: whose credentials sign (e.g. an analyst role's;
    default the target's session). On ``local`` the clients go to the embedded endpoint; on
    ``aws`` nothing is redirected. Extra keyword arguments go to ``sqlalchemy.create_engine``.
    """
    import sqlalchemy as sa

    s = s or settings()
    workgroup = workgroup or default_workgroup(s)
    schema = schema or default_schema(s)
    sess = boto3_session or _session(s)
    region = sess.region_name or s.region
    endpoint = {"endpoint_url": s.endpoint_url} if s.is_local else {}
    athena = sess.client("athena", config=CLIENT_CONFIG, **endpoint)
    output = _output_location(athena, workgroup)
    connect_args: dict[str, Any] = {"session": sess, "region_name": region, "config": CLIENT_CONFIG,
                                    "poll_interval": poll_interval, **endpoint}
    if not output:
        connect_args["s3_staging_dir"] = ""  # no env fallback: the workgroup decides (managed results)
    log.info("bi.engine: workgroup %s, schema %s, results %s, endpoint %s", workgroup, schema,
             output or "(workgroup-managed)", s.endpoint_url or "AWS")
    return sa.create_engine(url(workgroup, schema, region, output, catalog),
                            connect_args=connect_args, **engine_kwargs)


def read_sql(sql: str, eng: sqlalchemy.Engine, **params: Any) -> pd.DataFrame:
    """Run ``sql`` (named ``:param`` placeholders bound from ``params``) and return a DataFrame."""
    import sqlalchemy as sa

    with eng.connect() as conn:
        return pd.read_sql(sa.text(sql), conn, params=params or None)


def chart(df: pd.DataFrame, x: str, y: str, kind: str = "bar", *, title: str | None = None,
          ax: Any = None, top: int | None = 20) -> Any:
    """Draw ``y`` by ``x`` of a query result (``kind``: bar, barh, line, pie); returns the Axes.

    ``top``: at most that many rows, the largest ``y`` first for bar/barh/pie (None = all)."""
    import matplotlib.pyplot as plt

    for col in (x, y):
        if col not in df.columns:
            raise LakekitError(f"chart: column {col!r} is not in the result (columns: "
                               f"{', '.join(map(str, df.columns))}); pick x and y among them.")
    if kind not in KINDS:
        raise LakekitError(f"chart: kind {kind!r} is not one of {', '.join(KINDS)}.")
    data = df[[x, y]].dropna(subset=[y])
    if kind != "line":
        data = data.sort_values(y, ascending=False)
    if top is not None:
        data = data.head(top)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    values, labels = data[y].to_numpy(), data[x].astype(str).to_numpy()
    if kind == "bar":
        ax.bar(labels, values)
    elif kind == "barh":
        ax.barh(labels[::-1], values[::-1])
    elif kind == "line":
        ax.plot(labels, values, marker="o")
    else:
        ax.pie(values, labels=labels, autopct="%1.0f%%")
    if kind in ("bar", "line"):
        ax.set_xlabel(x)
        ax.set_ylabel(y)
    elif kind == "barh":
        ax.set_xlabel(y)
        ax.set_ylabel(x)
    ax.set_title(title or f"{y} by {x}")
    return ax


def explorer(df: pd.DataFrame, x: str | None = None, y: str | None = None, kind: str = "bar") -> Any:
    """A small interactive chart of a query result: dropdowns for x, y and the kind of chart.

    Returns the ``ipywidgets.VBox`` (display it in a notebook); ``box.children[:3]`` are the
    x / y / kind dropdowns and ``box.children[3]`` the output the chart is drawn into."""
    import ipywidgets as w
    import matplotlib.pyplot as plt

    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if not numeric:
        raise LakekitError("explorer: the result has no numeric column to chart; aggregate first "
                           "(e.g. SELECT carrier, count(*) AS flights ... GROUP BY 1).")
    columns = [str(c) for c in df.columns]
    x_dd = w.Dropdown(options=columns, value=x or next((c for c in columns if c not in numeric),
                                                       columns[0]), description="x")
    y_dd = w.Dropdown(options=numeric, value=y or numeric[-1], description="y")
    kind_dd = w.Dropdown(options=list(KINDS), value=kind, description="kind")
    out = w.Output()

    def draw(*_: Any) -> None:
        fig, ax = plt.subplots(figsize=(7, 3.5))
        try:
            ax = chart(df, x_dd.value, y_dd.value, kind_dd.value, ax=ax)
            png = io.BytesIO()
            fig.savefig(png, format="png", bbox_inches="tight")
            # the output as nbformat records it: shown in a kernel, readable outside one
            out.outputs = ({"output_type": "display_data", "metadata": {}, "data": {
                "image/png": base64.b64encode(png.getvalue()).decode(), "text/plain": ax.get_title()}},)
        finally:
            plt.close(fig)

    for dd in (x_dd, y_dd, kind_dd):
        dd.observe(draw, names="value")
    draw()
    return w.VBox([x_dd, y_dd, kind_dd, out])
